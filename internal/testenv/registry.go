package testenv

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Registry is go-containerregistry's in-process OCI registry served over
// plain HTTP on 127.0.0.1, with a request log for counting what clients do
// and optional fault-injecting middleware. Clients reach it with
// name.Insecure references (or an allow-insecure option).
//
// The fixture's own helpers (PushImage, PushIndex, Tag, DeleteBlob, ...)
// bypass the middleware and are not recorded, so a middleware that fails
// every request or demands credentials never breaks test setup, and
// Requests() shows only what the code under test sent.
type Registry struct {
	srv       *httptest.Server
	client    *http.Transport // the fixture's own, closed in Cleanup
	bypass    string          // secret header value marking fixture requests
	referrers *referrerIndex

	mu       sync.Mutex
	requests []string
}

type registryConfig struct {
	referrersAPI bool
	middleware   []func(http.Handler) http.Handler
}

// RegistryOption configures NewRegistry.
type RegistryOption func(*registryConfig)

// WithReferrersAPI serves the OCI 1.1 referrers endpoint
// GET /v2/<name>/referrers/<digest>: an OCI image index of the descriptors of
// manifests whose `subject` is that digest, with artifactType, honouring
// ?artifactType= filtering (and then setting the OCI-Filters-Applied header).
// Manifest pushes with a subject are answered with the OCI-Subject header, as
// the spec asks of registries that maintain referrers themselves.
// go-containerregistry's registry lacks this; without the option GET of that
// path answers 404 as ggcr's registry does, so clients fall back to the
// referrers tag schema (sha256-<hex> tags).
func WithReferrersAPI() RegistryOption {
	return func(c *registryConfig) { c.referrersAPI = true }
}

// WithMiddleware wraps the registry handler, for fault injection (5xx, 429,
// stalls, resets, oversized or lying manifests, redirects, auth). Several
// middlewares apply in the order given, the first outermost. A middleware
// that stalls must return when r.Context() is done: the fixture closes client
// connections in Cleanup, which cancels it.
func WithMiddleware(mw func(http.Handler) http.Handler) RegistryOption {
	return func(c *registryConfig) { c.middleware = append(c.middleware, mw) }
}

// WithOutage answers every request with 503 while down is true: a
// registry under maintenance that comes back when the test says so.
func WithOutage(down *atomic.Bool) RegistryOption {
	return WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if down.Load() {
				http.Error(w, "maintenance", http.StatusServiceUnavailable)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
}

// registryBypassHeader carries Registry.bypass on the fixture's own requests.
const registryBypassHeader = "X-Testenv-Fixture"

// NewRegistry starts a registry on 127.0.0.1; it is closed in t.Cleanup.
func NewRegistry(t testing.TB, opts ...RegistryOption) *Registry {
	t.Helper()
	var cfg registryConfig
	for _, o := range opts {
		o(&cfg)
	}
	r := &Registry{bypass: registryRandomToken(t), referrers: newReferrerIndex(cfg.referrersAPI)}

	inner := r.referrers.wrap(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	faulty := inner
	for i := len(cfg.middleware) - 1; i >= 0; i-- {
		faulty = cfg.middleware[i](faulty)
	}
	r.srv = httptest.NewServer(r.route(inner, faulty))
	r.client = http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(func() {
		// Closing client connections first cancels stalled handlers, so
		// Close does not wait for them.
		r.srv.CloseClientConnections()
		r.srv.Close()
		r.client.CloseIdleConnections()
	})
	return r
}

// route sends the fixture's own requests straight to the registry and every
// other request, recorded, through the middleware.
func (r *Registry) route(inner, faulty http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Header.Get(registryBypassHeader) == r.bypass {
			inner.ServeHTTP(w, req)
			return
		}
		r.record(req)
		faulty.ServeHTTP(w, req)
	})
}

func (r *Registry) record(req *http.Request) {
	line := req.Method + " " + req.URL.Path
	if req.URL.RawQuery != "" {
		line += "?" + req.URL.RawQuery
	}
	r.mu.Lock()
	r.requests = append(r.requests, line)
	r.mu.Unlock()
}

// Host returns "127.0.0.1:PORT".
func (r *Registry) Host() string { return r.srv.Listener.Addr().String() }

// Repo returns Host()+"/"+name.
func (r *Registry) Repo(name string) string { return r.Host() + "/" + name }

// Requests returns every request served so far (the fixture's own excepted),
// in order, as "METHOD /path" with the query kept.
func (r *Registry) Requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.requests...)
}

// ResetRequests forgets the recorded requests, to count one phase of a test.
func (r *Registry) ResetRequests() {
	r.mu.Lock()
	r.requests = nil
	r.mu.Unlock()
}

// repository parses repo, given either as a bare name ("app") or as
// Repo("app"), into an insecure name.Repository of this registry.
func (r *Registry) repository(t testing.TB, repo string) name.Repository {
	t.Helper()
	repo = strings.TrimPrefix(repo, r.Host()+"/")
	rp, err := name.NewRepository(r.Repo(repo), name.Insecure)
	if err != nil {
		t.Fatalf("testenv: repository %q: %v", repo, err)
	}
	return rp
}

// registryDigest builds the digest reference of h in rp.
func registryDigest(t testing.TB, rp name.Repository, h v1.Hash) name.Digest {
	t.Helper()
	d, err := name.NewDigest(rp.Name()+"@"+h.String(), name.Insecure)
	if err != nil {
		t.Fatalf("testenv: digest %s in %s: %v", h, rp, err)
	}
	return d
}

func registryRandomToken(t testing.TB) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("testenv: random token: %v", err)
	}
	return hex.EncodeToString(b)
}

// registryFixtureTransport marks the fixture's own requests so they skip middleware
// and recording.
type registryFixtureTransport struct {
	base  http.RoundTripper
	token string
}

func (f registryFixtureTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set(registryBypassHeader, f.token)
	return f.base.RoundTrip(req)
}

// do sends one raw request of the fixture's own and checks its status.
func (r *Registry) do(t testing.TB, method, path string, want int) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, "http://"+r.Host()+path, nil)
	if err != nil {
		t.Fatalf("testenv: %s %s: %v", method, path, err)
	}
	resp, err := registryFixtureTransport{base: r.client, token: r.bypass}.RoundTrip(req)
	if err != nil {
		t.Fatalf("testenv: %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		t.Fatalf("testenv: %s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, body)
	}
}

func registryPath(rp name.Repository, kind, ref string) string {
	return fmt.Sprintf("/v2/%s/%s/%s", rp.RepositoryStr(), kind, ref)
}

// SetupOptions returns go-containerregistry options for test setup done
// outside this file (signing, attaching, copying): like the fixture's own
// helpers, such requests bypass the middleware and are not recorded, so
// they neither trip injected faults nor show up in Requests().
func (r *Registry) SetupOptions(t testing.TB) []remote.Option {
	return r.remoteOptions(t)
}

// remoteOptions are the ggcr options of the fixture's own requests.
func (r *Registry) remoteOptions(t testing.TB) []remote.Option {
	return []remote.Option{
		remote.WithContext(t.Context()),
		remote.WithTransport(registryFixtureTransport{base: r.client, token: r.bypass}),
	}
}

// PushImage pushes a small random image (random.Image, 2 layers) to
// repo:tag and returns its digest reference. repo is a bare name ("app") or
// Repo("app").
func (r *Registry) PushImage(t testing.TB, repo, tag string) name.Digest {
	t.Helper()
	img, err := random.Image(256, 2)
	if err != nil {
		t.Fatalf("testenv: random image: %v", err)
	}
	return r.pushImage(t, r.repository(t, repo).Tag(tag), img)
}

func (r *Registry) pushImage(t testing.TB, ref name.Reference, img v1.Image) name.Digest {
	t.Helper()
	if err := remote.Write(ref, img, r.remoteOptions(t)...); err != nil {
		t.Fatalf("testenv: push image %s: %v", ref, err)
	}
	h, err := img.Digest()
	if err != nil {
		t.Fatalf("testenv: digest of image %s: %v", ref, err)
	}
	return registryDigest(t, ref.Context(), h)
}

// PushIndex pushes a multi-arch OCI index with one random image per platform
// (given as "os/arch[/variant]", e.g. "linux/amd64", "linux/arm64/v8";
// default those two), each image's config naming its platform, and tags it.
// It returns the index digest and each platform's manifest digest keyed by
// the platform string as given.
func (r *Registry) PushIndex(t testing.TB, repo, tag string, platforms ...string) (name.Digest, map[string]name.Digest) {
	t.Helper()
	if len(platforms) == 0 {
		platforms = []string{"linux/amd64", "linux/arm64/v8"}
	}
	rp := r.repository(t, repo)
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	children := make(map[string]name.Digest, len(platforms))
	for _, ps := range platforms {
		img, p := registryPlatformImage(t, ps)
		h, err := img.Digest()
		if err != nil {
			t.Fatalf("testenv: digest of %s image: %v", ps, err)
		}
		children[ps] = registryDigest(t, rp, h)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: p}})
	}
	ref := rp.Tag(tag)
	if err := remote.WriteIndex(ref, idx, r.remoteOptions(t)...); err != nil {
		t.Fatalf("testenv: push index %s: %v", ref, err)
	}
	h, err := idx.Digest()
	if err != nil {
		t.Fatalf("testenv: digest of index %s: %v", ref, err)
	}
	return registryDigest(t, rp, h), children
}

// registryPlatformImage makes a random OCI image whose config names the
// platform, as real multi-arch images do.
func registryPlatformImage(t testing.TB, platform string) (v1.Image, *v1.Platform) {
	t.Helper()
	p, err := v1.ParsePlatform(platform)
	if err != nil {
		t.Fatalf("testenv: platform %q: %v", platform, err)
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	for range 2 {
		l, err := random.Layer(256, types.OCILayer)
		if err != nil {
			t.Fatalf("testenv: random layer: %v", err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			t.Fatalf("testenv: append layer: %v", err)
		}
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatalf("testenv: config of random image: %v", err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Variant = p.OS, p.Architecture, p.Variant
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		t.Fatalf("testenv: set platform %s: %v", platform, err)
	}
	return img, p
}

// PushManifest pushes any manifest (an artifact, a signature, one carrying a
// subject via mutate.Subject) under ref, which is a tag or a digest of this
// registry, and returns its digest reference.
func (r *Registry) PushManifest(t testing.TB, ref name.Reference, m remote.Taggable) name.Digest {
	t.Helper()
	if err := remote.Put(ref, m, r.remoteOptions(t)...); err != nil {
		t.Fatalf("testenv: push manifest %s: %v", ref, err)
	}
	raw, err := m.RawManifest()
	if err != nil {
		t.Fatalf("testenv: raw manifest %s: %v", ref, err)
	}
	h, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("testenv: hash manifest %s: %v", ref, err)
	}
	return registryDigest(t, ref.Context(), h)
}

// Tag points repo:tag (in d's repository) at the existing manifest d, to
// re-point a tag.
func (r *Registry) Tag(t testing.TB, d name.Digest, tag string) {
	t.Helper()
	desc, err := remote.Get(d, r.remoteOptions(t)...)
	if err != nil {
		t.Fatalf("testenv: get %s: %v", d, err)
	}
	if err := remote.Tag(d.Context().Tag(tag), desc, r.remoteOptions(t)...); err != nil {
		t.Fatalf("testenv: tag %s as %s: %v", d, tag, err)
	}
}

// DeleteBlob removes a blob (a layer or config), for "listed but not served"
// cases: the manifest still names it, a pull fails. ggcr's registry stores
// blobs once for all repositories, so the blob disappears from all of them.
func (r *Registry) DeleteBlob(t testing.TB, repo string, h v1.Hash) {
	t.Helper()
	r.do(t, http.MethodDelete, registryPath(r.repository(t, repo), "blobs", h.String()), http.StatusAccepted)
}

// DeleteManifest removes the manifest d (by digest); tags pointing at it
// keep answering until they are re-pointed, as in ggcr's registry.
func (r *Registry) DeleteManifest(t testing.TB, d name.Digest) {
	t.Helper()
	r.do(t, http.MethodDelete, registryPath(d.Context(), "manifests", d.DigestStr()), http.StatusAccepted)
}
