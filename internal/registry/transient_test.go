package registry_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/imagegate/imagegate/internal/registry"
	"github.com/imagegate/imagegate/internal/testenv"
)

func TestIsTransient(t *testing.T) {
	t.Parallel()
	opErr := func(errno syscall.Errno) error {
		return &url.Error{Op: "Get", URL: "https://r.example/v2/", Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", errno)}}
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), true},
		{"caller cancelled", fmt.Errorf("x: %w", context.Canceled), false},
		{"connection refused", opErr(syscall.ECONNREFUSED), true},
		{"connection reset", opErr(syscall.ECONNRESET), true},
		{"server hung up", &url.Error{Op: "Get", URL: "u", Err: io.EOF}, true},
		{"body cut short", fmt.Errorf("reading: %w", io.ErrUnexpectedEOF), true},
		{"503", &transport.Error{StatusCode: http.StatusServiceUnavailable}, true},
		{"429", fmt.Errorf("cosign: %w", &transport.Error{StatusCode: http.StatusTooManyRequests}), true},
		{"404", &transport.Error{StatusCode: http.StatusNotFound}, false},
		{"403", &transport.Error{StatusCode: http.StatusForbidden}, false},
		{"wrapped unavailable", fmt.Errorf("x: %w", registry.ErrUnavailable), true},
		{"too large", registry.ErrManifestTooLarge, false},
		{"digest mismatch", registry.ErrDigestMismatch, false},
		{"redirect loop", registry.ErrTooManyRedirects, false},
		{"not pullable", &registry.PullError{Status: 412}, false},
		{"plain error", errors.New("no signatures found"), false},
	}
	for _, tt := range tests {
		if got := registry.IsTransient(tt.err); got != tt.want {
			t.Errorf("%s: IsTransient(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}

// TestNoGoroutineLeaks runs good and faulty calls and checks that every
// goroutine they started (client connections and their server side,
// stalled handlers, ggcr's ping racers) is gone once the client's idle
// connections are closed, while the registries still run: a body left
// open keeps its connection, and so its goroutines, alive.
// Not parallel: it counts the process's goroutines.
func TestNoGoroutineLeaks(t *testing.T) {
	loop := func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Path, http.StatusTemporaryRedirect)
	}
	good := testenv.NewRegistry(t)
	gd := good.PushImage(t, "app", "v1")
	gi, _ := good.PushIndex(t, "multi", "v1")
	stalled := testenv.NewRegistry(t,
		on(is(http.MethodHead, "manifests"), stall(false)),
		on(is(http.MethodGet, "manifests"), stall(true)))
	sd := stalled.PushImage(t, "app", "v1")
	looping := testenv.NewRegistry(t, on(is(http.MethodGet, "blobs"), loop))
	ld := looping.PushImage(t, "app", "v1")
	big := testenv.NewRegistry(t, streamManifest(64<<20, false))
	bd := big.PushImage(t, "app", "v1")
	tr := http.DefaultTransport.(*http.Transport).Clone()
	c := registry.New(registry.Options{AllowInsecure: true, Transport: tr})
	// Only the stalled registry gets a short timeout: streaming 4 MiB on a
	// loaded machine may take longer.
	impatient := registry.New(registry.Options{AllowInsecure: true, Transport: tr, RequestTimeout: 200 * time.Millisecond})

	before := runtime.NumGoroutine()
	for range 3 {
		if _, err := c.Resolve(t.Context(), parse(t, c, good.Repo("app")+":v1")); err != nil {
			t.Fatal(err)
		}
		if err := c.Probe(t.Context(), gd, nil); err != nil {
			t.Fatal(err)
		}
		if err := c.Probe(t.Context(), gi, nil); err != nil {
			t.Fatal(err)
		}
		_, err := impatient.Resolve(t.Context(), parse(t, c, stalled.Repo("app")+":v1"))
		wantErr(t, err, registry.ErrUnavailable, true)
		wantErr(t, impatient.Probe(t.Context(), sd, nil), registry.ErrUnavailable, true)
		wantErr(t, c.Probe(t.Context(), ld, nil), registry.ErrTooManyRedirects, false)
		wantErr(t, c.Probe(t.Context(), bd, nil), registry.ErrManifestTooLarge, false)
	}
	tr.CloseIdleConnections()

	// Goroutines end asynchronously after their connections close: poll a
	// bounded number of times instead of asserting on time.
	after := runtime.NumGoroutine()
	for i := 0; i < 100 && after > before; i++ {
		time.Sleep(20 * time.Millisecond)
		after = runtime.NumGoroutine()
	}
	if after > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines before, %d after the calls:\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
}
