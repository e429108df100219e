package registry_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/imagegate/imagegate/internal/registry"
	"github.com/imagegate/imagegate/internal/testenv"
)

// TestFaultsLeaveNoGoroutines runs Resolve and Probe into each registry
// fault that TestNoGoroutineLeaks does not cover, one case at a time, and
// checks that every goroutine a case started is gone once its registry and
// client connections are closed. Each case also checks the error's class.
//
// Not parallel: it compares the process's goroutines.
func TestFaultsLeaveNoGoroutines(t *testing.T) {
	warm := testenv.NewRegistry(t)
	warm.PushImage(t, "app", "v1")
	wc := newClient(t, insecure())
	if _, err := wc.Resolve(t.Context(), parse(t, wc, warm.Repo("app")+":v1")); err != nil {
		t.Fatal(err)
	}
	hangUp := func(w http.ResponseWriter, _ *http.Request) {
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = conn.Close()
		}
	}
	for _, tc := range []struct {
		name      string
		opt       testenv.RegistryOption
		sentinel  error
		transient bool
		probe     bool // the fault is on GET: probe the digest instead of resolving the tag
	}{
		{"503", on(is(http.MethodHead, "manifests"), status(http.StatusServiceUnavailable, `{"errors":[{"code":"UNAVAILABLE"}]}`)), registry.ErrUnavailable, true, false},
		{"429 with Retry-After", on(is(http.MethodHead, "manifests"), func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "60")
			status(http.StatusTooManyRequests, `{"errors":[{"code":"TOOMANYREQUESTS"}]}`)(w, r)
		}), registry.ErrUnavailable, true, false},
		{"503 on the ping", on(func(r *http.Request) bool { return r.URL.Path == "/v2/" }, status(http.StatusServiceUnavailable, "")), registry.ErrUnavailable, true, false},
		{"connection reset", on(is(http.MethodHead, "manifests"), hangUp), registry.ErrUnavailable, true, false},
		{"truncated manifest", on(is(http.MethodGet, "manifests"), func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			w.Header().Set("Content-Length", "1000")
			_, _ = w.Write([]byte(`{"schemaVersion":2,`)) // and the connection ends
		}), registry.ErrUnavailable, true, true},
		{"tag not found", on(is(http.MethodHead, "manifests"), status(http.StatusNotFound, "")), registry.ErrTagNotFound, false, false},
		{"pull refused", on(is(http.MethodHead, "manifests"), status(http.StatusForbidden, `{"errors":[{"code":"DENIED"}]}`)), registry.ErrNotPullable, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testenv.CheckGoroutines(t)
			reg := testenv.NewRegistry(t, tc.opt)
			d := reg.PushImage(t, "app", "v1")
			c := newClient(t, insecure())
			_, err := c.Resolve(t.Context(), parse(t, c, reg.Repo("app")+":v1"))
			if tc.probe {
				err = c.Probe(t.Context(), d, nil)
			}
			wantErr(t, err, tc.sentinel, tc.transient)
		})
	}
	t.Run("caller cancels mid-request", func(t *testing.T) {
		testenv.CheckGoroutines(t)
		arrived := make(chan struct{})
		var once sync.Once
		reg := testenv.NewRegistry(t, on(is(http.MethodHead, "manifests"), func(_ http.ResponseWriter, r *http.Request) {
			once.Do(func() { close(arrived) })
			<-r.Context().Done()
		}))
		reg.PushImage(t, "app", "v1")
		c := newClient(t, insecure())
		ctx, cancel := context.WithCancel(t.Context())
		go func() { <-arrived; cancel() }()
		_, err := c.Resolve(ctx, parse(t, c, reg.Repo("app")+":v1"))
		wantErr(t, err, context.Canceled, false)
	})
}
