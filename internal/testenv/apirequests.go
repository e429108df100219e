package testenv

import (
	"net/http"
	"strings"
	"sync"

	"k8s.io/client-go/rest"
)

// APIRequest is one request a client sent to the API server, as RBAC
// sees it: verb (get, list, watch, create, update, patch, delete),
// resource and the object's namespace and name; for list and watch the
// label selector, and whether the client asked for metadata only.
type APIRequest struct {
	Verb, Resource, Namespace, Name string
	LabelSelector                   string
	MetadataOnly                    bool
}

// APIRequests records the requests sent through a rest.Config made by
// RecordAPIRequests, to count what a client asks of the API server.
type APIRequests struct {
	mu   sync.Mutex
	reqs []APIRequest
}

// RecordAPIRequests returns a copy of cfg whose clients record every
// request they send in the returned log.
func RecordAPIRequests(cfg *rest.Config) (*rest.Config, *APIRequests) {
	log := &APIRequests{}
	out := rest.CopyConfig(cfg)
	out.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			log.add(r)
			return rt.RoundTrip(r)
		})
	})
	return out, log
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Of returns the recorded requests for resource (core or any group), in
// the order they were sent.
func (l *APIRequests) Of(resource string) []APIRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []APIRequest
	for _, r := range l.reqs {
		if r.Resource == resource {
			out = append(out, r)
		}
	}
	return out
}

func (l *APIRequests) add(r *http.Request) {
	req, ok := parseAPIRequest(r)
	if !ok {
		return
	}
	l.mu.Lock()
	l.reqs = append(l.reqs, req)
	l.mu.Unlock()
}

// parseAPIRequest reads /api/v1/[namespaces/NS/]RESOURCE[/NAME[/SUB]] and
// /apis/GROUP/VERSION/...; discovery and other paths are not recorded.
func parseAPIRequest(r *http.Request) (APIRequest, bool) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case len(parts) >= 3 && parts[0] == "api":
		parts = parts[2:]
	case len(parts) >= 4 && parts[0] == "apis":
		parts = parts[3:]
	default:
		return APIRequest{}, false
	}
	var req APIRequest
	if len(parts) >= 2 && parts[0] == "namespaces" && len(parts) != 2 {
		req.Namespace, parts = parts[1], parts[2:]
	}
	req.Resource = parts[0]
	if len(parts) > 1 {
		req.Name = parts[1]
	}
	q := r.URL.Query()
	req.LabelSelector = q.Get("labelSelector")
	req.MetadataOnly = strings.Contains(r.Header.Get("Accept"), "as=PartialObjectMetadata")
	switch r.Method {
	case http.MethodGet:
		switch {
		case q.Get("watch") == "true" || q.Get("watch") == "1":
			req.Verb = "watch"
		case req.Name == "":
			req.Verb = "list"
		default:
			req.Verb = "get"
		}
	case http.MethodPost:
		req.Verb = "create"
	case http.MethodPut:
		req.Verb = "update"
	case http.MethodPatch:
		req.Verb = "patch"
	case http.MethodDelete:
		req.Verb = "delete"
	default:
		req.Verb = strings.ToLower(r.Method)
	}
	return req, true
}
