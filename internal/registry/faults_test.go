package registry_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imagegate/imagegate/internal/registry"
	"github.com/imagegate/imagegate/internal/testenv"
)

func TestTransientStatuses(t *testing.T) {
	t.Parallel()
	for _, code := range []int{http.StatusServiceUnavailable, http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			t.Parallel()
			reg := testenv.NewRegistry(t, on(is(http.MethodHead, "manifests"),
				status(code, `{"errors":[{"code":"UNAVAILABLE","message":"try later"}]}`)))
			reg.PushImage(t, "app", "v1")
			c := newClient(t, insecure())

			_, err := c.Resolve(t.Context(), parse(t, c, reg.Repo("app")+":v1"))
			wantErr(t, err, registry.ErrUnavailable, true)
			// ggcr's own retries are off: the caller decides, within its deadline.
			if n := count(reg, "HEAD /v2/app/manifests/v1"); n != 1 {
				t.Fatalf("HEAD sent %d times, want 1", n)
			}
		})
	}
}

func TestTransientPing(t *testing.T) {
	t.Parallel()
	reg := testenv.NewRegistry(t, on(func(r *http.Request) bool { return r.URL.Path == "/v2/" },
		status(http.StatusServiceUnavailable, "")))
	d := reg.PushImage(t, "app", "v1")
	c := newClient(t, insecure())

	_, err := c.Resolve(t.Context(), parse(t, c, reg.Repo("app")+":v1"))
	wantErr(t, err, registry.ErrUnavailable, true)
	wantErr(t, c.Probe(t.Context(), d, nil), registry.ErrUnavailable, true)
}

func TestConnectionRefusedAndReset(t *testing.T) {
	t.Parallel()
	closed := testenv.ClosedAddr(t)
	c := newClient(t, insecure())
	_, err := c.Resolve(t.Context(), parse(t, c, closed+"/app:v1"))
	wantErr(t, err, registry.ErrUnavailable, true)

	reg := testenv.NewRegistry(t, on(is(http.MethodHead, "manifests"), func(w http.ResponseWriter, _ *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	reg.PushImage(t, "app", "v1")
	_, err = c.Resolve(t.Context(), parse(t, c, reg.Repo("app")+":v1"))
	wantErr(t, err, registry.ErrUnavailable, true)
}

// streamManifest answers GET of a manifest with n bytes of JSON-ish filler,
// chunked unless announce, stopping when the client goes away.
func streamManifest(n int, announce bool) testenv.RegistryOption {
	return on(is(http.MethodGet, "manifests"), func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
		if announce {
			w.Header().Set("Content-Length", fmt.Sprint(n))
		}
		chunk := []byte(strings.Repeat(" ", 32<<10))
		for sent := 0; sent < n && r.Context().Err() == nil; sent += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
}

func TestOversizedManifest(t *testing.T) {
	// Not parallel: it measures allocations, which other tests would skew.
	for _, announce := range []bool{false, true} {
		t.Run(fmt.Sprintf("content-length=%v", announce), func(t *testing.T) {
			const streamed = 64 << 20 // a registry that does not stop; ggcr alone reads 100 MiB
			reg := testenv.NewRegistry(t, streamManifest(streamed, announce))
			d := reg.PushImage(t, "app", "v1")
			c := newClient(t, insecure()) // default limit: 4 MiB

			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			err := c.Probe(t.Context(), d, nil)
			runtime.ReadMemStats(&after)
			wantErr(t, err, registry.ErrManifestTooLarge, false)
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("probe allocated %.1f MiB while the registry streamed up to %d MiB", float64(alloc)/(1<<20), streamed>>20)
			if alloc > 24<<20 {
				t.Fatalf("probe allocated %d MiB for a refused manifest, want < 24 MiB", alloc>>20)
			}

			// The same guard applies to ggcr (and so cosign) calls.
			_, err = remote.Get(d, c.RemoteOptions(t.Context())...)
			wantErr(t, err, registry.ErrManifestTooLarge, false)
		})
	}
}

func TestManifestLyingAboutItsDigest(t *testing.T) {
	t.Parallel()
	// Once target is set, GET of that manifest answers with other's bytes
	// under target's digest.
	var target, other atomic.Value
	reg := testenv.NewRegistry(t, on(func(r *http.Request) bool {
		p, _ := target.Load().(string)
		return r.Method == http.MethodGet && r.URL.Path == p
	}, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.docker.distribution.manifest.v2+json")
		w.Header().Set("Docker-Content-Digest", r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:])
		b, _ := other.Load().([]byte)
		_, _ = w.Write(b)
	}))
	d := reg.PushImage(t, "app", "v1")
	o := reg.PushImage(t, "app", "v2")
	c := newClient(t, insecure())
	desc, err := remote.Get(o, c.RemoteOptions(t.Context())...)
	if err != nil {
		t.Fatal(err)
	}
	other.Store(desc.Manifest)
	target.Store("/v2/app/manifests/" + d.DigestStr())

	wantErr(t, c.Probe(t.Context(), d, nil), registry.ErrDigestMismatch, false)
	_, err = remote.Get(d, c.RemoteOptions(t.Context())...)
	wantErr(t, err, registry.ErrDigestMismatch, false)
}

func TestRedirectLoop(t *testing.T) {
	t.Parallel()
	loop := func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Path, http.StatusTemporaryRedirect)
	}
	reg := testenv.NewRegistry(t, on(is(http.MethodHead, "manifests"), loop), on(is(http.MethodGet, "manifests"), loop))
	d := reg.PushImage(t, "app", "v1")
	c := newClient(t, registry.Options{AllowInsecure: true, MaxRedirects: 3})

	_, err := c.Resolve(t.Context(), parse(t, c, reg.Repo("app")+":v1"))
	wantErr(t, err, registry.ErrTooManyRedirects, false)
	if n := count(reg, "HEAD /v2/app/manifests/v1"); n != 4 {
		t.Fatalf("HEAD served %d times, want 4 (the request and 3 redirects)", n)
	}

	wantErr(t, c.Probe(t.Context(), d, nil), registry.ErrTooManyRedirects, false)
	if n := count(reg, "GET /v2/app/manifests/"+d.DigestStr()); n != 4 {
		t.Fatalf("GET served %d times, want 4", n)
	}
}

// stall writes the headers and half of a manifest, then waits for the
// client to give up.
func stall(headers bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if headers {
			w.Header().Set("Content-Length", "1000")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte(`{"schemaVersion":`))
			_ = http.NewResponseController(w).Flush()
		}
		<-r.Context().Done()
	}
}

func TestStalledRegistryTimesOut(t *testing.T) {
	t.Parallel()
	reg := testenv.NewRegistry(t, on(is(http.MethodHead, "manifests"), stall(false)), on(is(http.MethodGet, "manifests"), stall(true)))
	d := reg.PushImage(t, "app", "v1")
	c := newClient(t, registry.Options{AllowInsecure: true, RequestTimeout: 300 * time.Millisecond})

	// The caller's context has no deadline: only RequestTimeout can end these.
	_, err := c.Resolve(context.WithoutCancel(t.Context()), parse(t, c, reg.Repo("app")+":v1"))
	wantErr(t, err, registry.ErrUnavailable, true)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("stalled headers: %v, want a deadline error", err)
	}

	err = c.Probe(context.WithoutCancel(t.Context()), d, nil)
	wantErr(t, err, registry.ErrUnavailable, true)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("stalled body: %v, want a deadline error", err)
	}
	_, err = remote.Get(d, c.RemoteOptions(context.WithoutCancel(t.Context()))...)
	if !registry.IsTransient(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("stalled body through RemoteOptions: %v, want a transient deadline error", err)
	}
}

func TestCallerCancellationIsNotTransient(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{})
	var once sync.Once
	reg := testenv.NewRegistry(t, on(is(http.MethodHead, "manifests"), func(_ http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(arrived) })
		<-r.Context().Done()
	}))
	reg.PushImage(t, "app", "v1")
	c := newClient(t, insecure())

	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-arrived // cancel once the HEAD hangs, not after a guessed delay
		cancel()
	}()
	_, err := c.Resolve(ctx, parse(t, c, reg.Repo("app")+":v1"))
	if !errors.Is(err, context.Canceled) || registry.IsTransient(err) {
		t.Fatalf("cancelled resolve: %v (transient %v), want context.Canceled, permanent", err, registry.IsTransient(err))
	}
}
