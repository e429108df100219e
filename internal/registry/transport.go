package registry

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
)

// maxErrorBody bounds what is read of a non-2xx response: ggcr reads error
// bodies whole, and a hostile registry could stream one forever.
const maxErrorBody = 64 << 10

// guardedTransport is the base of every request the client sends, ggcr's
// auth and scheme transports sit on top of it (see doc.go for why).
type guardedTransport struct {
	base          http.RoundTripper
	keychain      authn.Keychain // to tell a refusal of credentials from a lack of them
	timeout       time.Duration
	maxManifest   int64
	maxRedirects  int
	allowInsecure bool
	// insecureHosts may be reached over plain HTTP even when allowInsecure
	// is false: the registry of an ImageRepository with spec.insecure.
	insecureHosts map[string]bool
	timeoutErr    error         // the cause of a per-request deadline
	sent          *atomic.Int64 // shared with the clients derived by With
}

func newGuardedTransport(o Options) *guardedTransport {
	return &guardedTransport{
		base:          o.Transport,
		keychain:      o.Keychain,
		timeout:       o.RequestTimeout,
		maxManifest:   o.MaxManifestBytes,
		maxRedirects:  o.MaxRedirects,
		allowInsecure: o.AllowInsecure,
		sent:          new(atomic.Int64),
		timeoutErr:    fmt.Errorf("no complete response within the %s request timeout: %w", o.RequestTimeout, context.DeadlineExceeded),
	}
}

// RoundTrip refuses what the options forbid, then sends req with its own
// deadline, which lives on in the response body until it is read or closed.
func (g *guardedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := g.refuse(req); err != nil {
		if req.Body != nil {
			_ = req.Body.Close() // RoundTrip owns the body, even on error
		}
		return nil, err
	}
	ctx, cancel := context.WithTimeoutCause(req.Context(), g.timeout, g.timeoutErr)
	g.sent.Add(1)
	resp, err := g.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		ours := ctx.Err() != nil && req.Context().Err() == nil
		cancel()
		if ours {
			return nil, fmt.Errorf("%s %s: %w", req.Method, redactURL(req.URL), g.timeoutErr)
		}
		return nil, err
	}
	return g.guard(ctx, cancel, req, resp)
}

func (g *guardedTransport) refuse(req *http.Request) error {
	if req.URL.Scheme == "http" && !g.allowInsecure && !g.insecureHosts[req.URL.Host] {
		return fmt.Errorf("%w: %s %s; serve the registry over HTTPS or allow insecure registries",
			ErrInsecureNotAllowed, req.Method, redactURL(req.URL))
	}
	if n := redirectDepth(req); n > g.maxRedirects {
		return fmt.Errorf("%w: %s %s is redirect number %d, the limit is %d",
			ErrTooManyRedirects, req.Method, redactURL(req.URL), n, g.maxRedirects)
	}
	return nil
}

// redirectDepth counts the responses that led to req: net/http's client sets
// req.Response on every request it sends because of a redirect.
func redirectDepth(req *http.Request) int {
	n := 0
	for r := req.Response; r != nil && r.Request != nil; r = r.Request.Response {
		n++
	}
	return n
}

// firstRequest is the request that started a redirect chain: a manifest
// fetch stays one even when it is redirected to another path.
func firstRequest(req *http.Request) *http.Request {
	for req.Response != nil && req.Response.Request != nil {
		req = req.Response.Request
	}
	return req
}

// guard wraps the response body with the limits that apply to it.
func (g *guardedTransport) guard(ctx context.Context, cancel context.CancelFunc, req *http.Request, resp *http.Response) (*http.Response, error) {
	where := req.Method + " " + redactURL(req.URL)
	body := resp.Body
	if b := budgetOf(ctx); b != nil { // ctx derives from the request's
		if err := b.refuses(resp.ContentLength, where); err != nil {
			_ = resp.Body.Close()
			cancel()
			return nil, err
		}
		body = &budgetBody{rc: body, budget: b, where: where}
	}
	orig := firstRequest(req)
	kind, ref := apiPath(orig.URL.Path)
	switch {
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			g.noteCredentials(ctx, req, resp)
		}
		body = truncatedBody{ReadCloser: body, r: io.LimitReader(body, maxErrorBody)}
		if secrets := credentials(req); len(secrets) > 0 {
			body = &redactedBody{rc: body, secrets: secrets}
		}
	case orig.Method == http.MethodGet && (kind == "manifests" || kind == "referrers"):
		if resp.ContentLength > g.maxManifest {
			_ = resp.Body.Close()
			cancel()
			return nil, fmt.Errorf("%w: %s announces %d bytes, the limit is %d",
				ErrManifestTooLarge, where, resp.ContentLength, g.maxManifest)
		}
		body = &limitedBody{rc: body, remaining: g.maxManifest, where: where, limit: g.maxManifest}
		if kind == "manifests" {
			body = digestCheck(body, ref, where)
		}
	}
	resp.Body = &deadlineBody{rc: body, ctx: ctx, cancel: cancel, cause: g.timeoutErr, where: where}
	return resp, nil
}

// apiPath returns the kind ("manifests", "blobs", "referrers", ...) and the
// reference of a /v2/<name>/<kind>/<reference> path.
func apiPath(path string) (kind, ref string) {
	rest, ok := strings.CutPrefix(path, "/v2/")
	if !ok {
		return "", ""
	}
	parts := strings.Split(rest, "/")
	if len(parts) < 3 {
		return "", ""
	}
	return parts[len(parts)-2], parts[len(parts)-1]
}

// redactURL drops the query and user info: redirect targets carry signed
// tokens in them.
func redactURL(u *url.URL) string {
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}
