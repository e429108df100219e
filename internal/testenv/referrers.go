package testenv

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// referrerIndex implements the OCI 1.1 referrers API in front of ggcr's
// registry. ggcr's own referrers handler (v0.22.1) reports the config media
// type even when a manifest sets artifactType (sigstore bundles do), ignores
// ?artifactType= and 404s for unknown repositories, so the fixture keeps its
// own index of the manifests pushed through it that carry a subject.
type referrerIndex struct {
	serve bool

	mu sync.Mutex
	// repo -> subject digest -> referrers, in push order
	bySubject map[string]map[string][]v1.Descriptor
}

func newReferrerIndex(serve bool) *referrerIndex {
	return &referrerIndex{serve: serve, bySubject: map[string]map[string][]v1.Descriptor{}}
}

// registryAPIPath splits /v2/<repo>/<kind>/<ref> into its parts.
func registryAPIPath(path string) (repo, kind, ref string, ok bool) {
	rest, found := strings.CutPrefix(path, "/v2/")
	if !found {
		return "", "", "", false
	}
	parts := strings.Split(rest, "/")
	if len(parts) < 3 {
		return "", "", "", false
	}
	n := len(parts)
	return strings.Join(parts[:n-2], "/"), parts[n-2], parts[n-1], true
}

func (x *referrerIndex) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		repo, kind, ref, ok := registryAPIPath(r.URL.Path)
		switch {
		case ok && x.serve && kind == "referrers" && r.Method == http.MethodGet:
			x.list(w, r, repo, ref)
		case ok && kind == "manifests" && r.Method == http.MethodPut:
			x.put(w, r, next, repo)
		case ok && kind == "manifests" && r.Method == http.MethodDelete:
			x.delete(w, r, next, repo, ref)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// statusRecorder remembers the status the registry answered.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// referrerManifest is the part of a manifest the referrers API reports.
type referrerManifest struct {
	MediaType    types.MediaType   `json:"mediaType"`
	ArtifactType string            `json:"artifactType"`
	Subject      *v1.Descriptor    `json:"subject"`
	Annotations  map[string]string `json:"annotations"`
	Config       *v1.Descriptor    `json:"config"`
}

func (x *referrerIndex) put(w http.ResponseWriter, r *http.Request, next http.Handler, repo string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil {
		http.Error(w, "reading manifest: "+err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	var m referrerManifest
	if json.Unmarshal(body, &m) != nil || m.Subject == nil {
		next.ServeHTTP(w, r)
		return
	}
	if x.serve {
		w.Header().Set("OCI-Subject", m.Subject.Digest.String())
	}
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	next.ServeHTTP(rec, r)
	if rec.status != http.StatusCreated {
		return
	}
	h, size, _ := v1.SHA256(bytes.NewReader(body))
	desc := v1.Descriptor{
		MediaType:    types.MediaType(r.Header.Get("Content-Type")),
		Digest:       h,
		Size:         size,
		ArtifactType: m.ArtifactType,
		Annotations:  m.Annotations,
	}
	if desc.MediaType == "" {
		desc.MediaType = m.MediaType
	}
	if desc.ArtifactType == "" && m.Config != nil {
		desc.ArtifactType = string(m.Config.MediaType)
	}
	x.add(repo, m.Subject.Digest.String(), desc)
}

func (x *referrerIndex) add(repo, subject string, desc v1.Descriptor) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.bySubject[repo] == nil {
		x.bySubject[repo] = map[string][]v1.Descriptor{}
	}
	for _, d := range x.bySubject[repo][subject] {
		if d.Digest == desc.Digest {
			return
		}
	}
	x.bySubject[repo][subject] = append(x.bySubject[repo][subject], desc)
}

func (x *referrerIndex) delete(w http.ResponseWriter, r *http.Request, next http.Handler, repo, ref string) {
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	next.ServeHTTP(rec, r)
	if rec.status != http.StatusAccepted {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	for subject, descs := range x.bySubject[repo] {
		kept := descs[:0]
		for _, d := range descs {
			if d.Digest.String() != ref {
				kept = append(kept, d)
			}
		}
		x.bySubject[repo][subject] = kept
	}
}

// list answers GET /v2/<repo>/referrers/<digest>. An unknown repository or
// subject is an empty index, as the spec asks.
func (x *referrerIndex) list(w http.ResponseWriter, r *http.Request, repo, subject string) {
	if _, err := v1.NewHash(subject); err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"errors":[{"code":"DIGEST_INVALID","message":"referrers target must be a digest"}]}`)
		return
	}
	filter, filtered := r.URL.Query()["artifactType"]
	idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{}}
	x.mu.Lock()
	for _, d := range x.bySubject[repo][subject] {
		if !filtered || d.ArtifactType == filter[0] {
			idx.Manifests = append(idx.Manifests, d)
		}
	}
	x.mu.Unlock()
	body, err := json.Marshal(idx)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if filtered {
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	w.Header().Set("Content-Type", string(types.OCIImageIndex))
	_, _ = w.Write(body)
}
