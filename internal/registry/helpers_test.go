package registry_test

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imagegate/imagegate/internal/registry"
	"github.com/imagegate/imagegate/internal/testenv"
)

// newClient builds a client for the fixture with its own connection pool,
// closed when the test ends so no keep-alive goroutine outlives it.
func newClient(t *testing.T, o registry.Options) *registry.Client {
	t.Helper()
	if o.Transport == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		t.Cleanup(tr.CloseIdleConnections)
		o.Transport = tr
	}
	return registry.New(o)
}

func insecure() registry.Options { return registry.Options{AllowInsecure: true} }

func parse(t *testing.T, c *registry.Client, s string) name.Reference {
	t.Helper()
	ref, err := c.ParseReference(s)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return ref
}

// on answers the requests that match with h and passes the others on.
func on(match func(*http.Request) bool, h http.HandlerFunc) testenv.RegistryOption {
	return testenv.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if match(r) {
				h(w, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
}

// is matches a method and a path containing "/<kind>/" (manifests, blobs).
func is(method, kind string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		return r.Method == method && strings.Contains(r.URL.Path, "/"+kind+"/")
	}
}

func status(code int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = w.Write([]byte(body))
	}
}

func wantRequests(t *testing.T, reg *testenv.Registry, want ...string) {
	t.Helper()
	if got := reg.Requests(); !slices.Equal(got, want) {
		t.Fatalf("requests served:\n  got  %q\n  want %q", got, want)
	}
}

func count(reg *testenv.Registry, line string) int {
	n := 0
	for _, r := range reg.Requests() {
		if r == line {
			n++
		}
	}
	return n
}

func wantErr(t *testing.T, err error, sentinel error, transient bool) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("err = %v, want errors.Is %v", err, sentinel)
	}
	if got := registry.IsTransient(err); got != transient {
		t.Fatalf("IsTransient(%v) = %v, want %v", err, got, transient)
	}
}

func pullError(t *testing.T, err error) *registry.PullError {
	t.Helper()
	var pe *registry.PullError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want a *PullError in the chain", err)
	}
	return pe
}

// imageParts returns the config and layer digests of the image d.
func imageParts(t *testing.T, d name.Digest) (v1.Hash, []v1.Hash) {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	img, err := remote.Image(d, remote.WithTransport(tr), remote.WithContext(t.Context()))
	if err != nil {
		t.Fatalf("pull %s: %v", d, err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	layers := make([]v1.Hash, 0, len(m.Layers))
	for _, l := range m.Layers {
		layers = append(layers, l.Digest)
	}
	return m.Config.Digest, layers
}
