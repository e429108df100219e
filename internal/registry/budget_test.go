package registry_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imagegate/imagegate/internal/registry"
	"github.com/imagegate/imagegate/internal/testenv"
)

// streamBlob answers every blob GET with n bytes, announcing them or not.
func streamBlob(n int, announce bool) testenv.RegistryOption {
	return on(is(http.MethodGet, "blobs"), func(w http.ResponseWriter, r *http.Request) {
		if announce {
			w.Header().Set("Content-Length", fmt.Sprint(n))
		}
		chunk := []byte(strings.Repeat("x", 32<<10))
		for sent := 0; sent < n && r.Context().Err() == nil; sent += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
}

const anyBlob = "sha256:0000000000000000000000000000000000000000000000000000000000000000"

// Two bodies of 1 MiB read at once under one budget of 1.5 MiB: the bytes
// received together never pass the budget, one read fails with
// ErrByteBudgetExceeded, which is permanent, and the budget says so.
func TestByteBudgetBoundsConcurrentBodies(t *testing.T) {
	t.Parallel()
	for _, announce := range []bool{false, true} {
		t.Run(fmt.Sprintf("content-length=%v", announce), func(t *testing.T) {
			t.Parallel()
			reg := testenv.NewRegistry(t, streamBlob(1<<20, announce))
			d := reg.PushImage(t, "app", "v1")
			c := newClient(t, insecure())
			const limit = 1536 << 10
			ctx, budget := registry.WithBudget(t.Context(), limit)
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i := range errs {
				wg.Go(func() {
					l, err := remote.Layer(d.Context().Digest(anyBlob), c.RemoteOptions(ctx)...)
					if err == nil {
						var rc io.ReadCloser
						if rc, err = l.Compressed(); err == nil {
							_, err = io.Copy(io.Discard, rc)
							_ = rc.Close()
						}
					}
					errs[i] = err
				})
			}
			wg.Wait()
			if budget.Used() > limit || !budget.Exceeded() {
				t.Fatalf("used %d of %d, exceeded %v", budget.Used(), limit, budget.Exceeded())
			}
			err := errors.Join(errs...)
			wantErr(t, err, registry.ErrByteBudgetExceeded, false)
		})
	}
}

// A response announcing more than the budget has left is refused before
// any of its body is read.
func TestByteBudgetRefusesAnAnnouncedBodyUnread(t *testing.T) {
	t.Parallel()
	reg := testenv.NewRegistry(t, streamBlob(1<<20, true))
	d := reg.PushImage(t, "app", "v1")
	c := newClient(t, insecure())
	ctx, budget := registry.WithBudget(t.Context(), 512<<10)
	l, err := remote.Layer(d.Context().Digest(anyBlob), c.RemoteOptions(ctx)...)
	if err == nil {
		_, err = l.Compressed()
	}
	wantErr(t, err, registry.ErrByteBudgetExceeded, false)
	if used := budget.Used(); used > 64 || !budget.Exceeded() {
		t.Fatalf("used %d bytes (the ping's at most), exceeded %v", used, budget.Exceeded())
	}
}
