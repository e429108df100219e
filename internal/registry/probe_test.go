package registry_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imagegate/imagegate/internal/registry"
	"github.com/imagegate/imagegate/internal/testenv"
)

func platforms(t *testing.T, ss ...string) []v1.Platform {
	t.Helper()
	out := make([]v1.Platform, 0, len(ss))
	for _, s := range ss {
		p, err := v1.ParsePlatform(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, *p)
	}
	return out
}

// rangeLog records the Range header of every blob request.
type rangeLog struct {
	mu     sync.Mutex
	ranges map[string]string
}

func (l *rangeLog) option() testenv.RegistryOption {
	l.ranges = map[string]string{}
	return testenv.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/blobs/") {
				l.mu.Lock()
				l.ranges[r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]] = r.Header.Get("Range")
				l.mu.Unlock()
			}
			next.ServeHTTP(w, r)
		})
	})
}

func (l *rangeLog) get(h v1.Hash) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r, ok := l.ranges[h.String()]
	return r, ok
}

func TestProbeImage(t *testing.T) {
	t.Parallel()
	var ranges rangeLog
	reg := testenv.NewRegistry(t, ranges.option())
	d := reg.PushImage(t, "app", "v1")
	cfg, layers := imageParts(t, d)
	reg.ResetRequests()
	c := newClient(t, insecure())

	if err := c.Probe(t.Context(), d, nil); err != nil {
		t.Fatalf("probe of a served image: %v", err)
	}
	wantRequests(t, reg,
		"GET /v2/",
		"GET /v2/app/manifests/"+d.DigestStr(),
		"GET /v2/app/blobs/"+cfg.String(),
		"GET /v2/app/blobs/"+layers[0].String(),
		"GET /v2/app/blobs/"+layers[1].String())
	if r, _ := ranges.get(cfg); r != "" {
		t.Errorf("config fetched with Range %q, want whole (its digest is checked)", r)
	}
	for _, l := range layers {
		if r, ok := ranges.get(l); !ok || r != "bytes=0-0" {
			t.Errorf("layer %s fetched with Range %q, want bytes=0-0", l, r)
		}
	}
}

func TestProbeIndex(t *testing.T) {
	t.Parallel()
	reg := testenv.NewRegistry(t)
	idx, children := reg.PushIndex(t, "multi", "v1", "linux/amd64", "linux/arm64/v8")
	c := newClient(t, insecure())

	tests := []struct {
		name      string
		platforms []string
		probed    []string // platforms whose manifest must be fetched
	}{
		{"all configured", []string{"linux/amd64", "linux/arm64/v8"}, []string{"linux/amd64", "linux/arm64/v8"}},
		{"one configured", []string{"linux/arm64"}, []string{"linux/arm64/v8"}},
		{"none configured means every child", nil, []string{"linux/amd64", "linux/arm64/v8"}},
	}
	for _, tt := range tests {
		reg.ResetRequests()
		if err := c.Probe(t.Context(), idx, platforms(t, tt.platforms...)); err != nil {
			t.Fatalf("%s: probe: %v", tt.name, err)
		}
		for _, p := range tt.probed {
			if n := count(reg, "GET /v2/multi/manifests/"+children[p].DigestStr()); n != 1 {
				t.Errorf("%s: manifest of %s fetched %d times, want 1", tt.name, p, n)
			}
		}
		if got := len(reg.Requests()); tt.platforms != nil && len(tt.probed) == 1 && got != 1+1+1+2 {
			t.Errorf("%s: %d requests, want index + manifest + config + 2 layers", tt.name, got)
		}
	}
}

func TestProbeMissingPlatform(t *testing.T) {
	t.Parallel()
	reg := testenv.NewRegistry(t)
	idx, children := reg.PushIndex(t, "multi", "v1", "linux/amd64", "linux/arm64/v8")
	c := newClient(t, insecure())

	err := c.Probe(t.Context(), idx, platforms(t, "linux/amd64", "linux/s390x"))
	wantErr(t, err, registry.ErrNotPullable, false)
	if pe := pullError(t, err); !strings.Contains(pe.Message, "linux/s390x") {
		t.Fatalf("message %q does not name the missing platform", pe.Message)
	}

	// A single-platform image cannot serve another platform either.
	err = c.Probe(t.Context(), children["linux/arm64/v8"], platforms(t, "linux/amd64"))
	wantErr(t, err, registry.ErrNotPullable, false)
	if err := c.Probe(t.Context(), children["linux/arm64/v8"], platforms(t, "linux/arm64")); err != nil {
		t.Fatalf("probe of the arm64 image for arm64: %v", err)
	}
}

func TestProbeDeletedLayer(t *testing.T) {
	t.Parallel()
	reg := testenv.NewRegistry(t)
	d := reg.PushImage(t, "app", "v1")
	_, layers := imageParts(t, d)
	reg.DeleteBlob(t, "app", layers[1])
	c := newClient(t, insecure())

	err := c.Probe(t.Context(), d, nil)
	wantErr(t, err, registry.ErrNotPullable, false)
	if pe := pullError(t, err); pe.Status != http.StatusNotFound || !strings.Contains(pe.URL, layers[1].String()) {
		t.Fatalf("pull error %+v, want 404 on the deleted layer", pe)
	}
}

// harborDenied is what Harbor answers for a blob of an image its CVE
// policy blocks.
const harborDenied = `{"errors":[{"code":"DENIED","message":"current image with 3 vulnerabilities cannot be pulled due to configured policy in 'Prevent images with vulnerability severity of \"High\" or higher from running.' To continue with pull, please contact your project administrator to exempt matched vulnerabilities through configuring the CVE allowlist."}]}`

func TestProbeRegistryRefusal(t *testing.T) {
	t.Parallel()
	reg := testenv.NewRegistry(t, on(is(http.MethodGet, "blobs"), status(http.StatusForbidden, harborDenied)))
	d := reg.PushImage(t, "app", "v1")
	c := newClient(t, insecure())

	// Resolving still works: the registry lists the image...
	if _, err := c.Resolve(t.Context(), parse(t, c, reg.Repo("app")+":v1")); err != nil {
		t.Fatal(err)
	}
	// ...but will not serve it.
	err := c.Probe(t.Context(), d, nil)
	wantErr(t, err, registry.ErrNotPullable, false)
	pe := pullError(t, err)
	if pe.Status != http.StatusForbidden || !strings.Contains(pe.Message, "DENIED: current image with 3 vulnerabilities cannot be pulled") {
		t.Fatalf("pull error %+v, want 403 with Harbor's message", pe)
	}
	if !strings.Contains(err.Error(), d.String()) {
		t.Fatalf("error %q does not name the image", err)
	}
}

func TestProbeUnavailableBlob(t *testing.T) {
	t.Parallel()
	reg := testenv.NewRegistry(t, on(is(http.MethodGet, "blobs"), status(http.StatusServiceUnavailable, "")))
	d := reg.PushImage(t, "app", "v1")
	c := newClient(t, insecure())

	wantErr(t, c.Probe(t.Context(), d, nil), registry.ErrUnavailable, true)
}
