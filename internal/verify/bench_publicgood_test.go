package verify_test

import (
	"context"
	"testing"

	"github.com/imagegate/imagegate/internal/registry"
	"github.com/imagegate/imagegate/internal/testenv"
	"github.com/imagegate/imagegate/internal/trustroot"
	"github.com/imagegate/imagegate/internal/verify"
)

// memStore keeps the persisted TUF state in memory: the benchmark has no
// API server, and measures the TUF client's offline verification, not a
// Secret read.
type memStore struct{ st *trustroot.State }

func (m *memStore) Load(context.Context) (*trustroot.State, error)    { return m.st, nil }
func (m *memStore) Save(_ context.Context, st *trustroot.State) error { m.st = st; return nil }

// BenchmarkKeylessPublicGood verifies a keyless bundle whose authority
// names no trusted root, so it uses the root obtained through TUF (a local
// repository carrying the test Sigstore's trusted root).
//
// cold: what a restarted Pod pays for its first keyless verification, the
// mirror down: a new Source verifying the persisted TUF state offline
// (metadata signatures and expiry, the target's hash), the policy
// compiled, a new registry client (new connections, /v2/ ping) and
// verifier. warm: the same verification again with everything built (the
// registry requests and the signature checks, no in-process cache).
func BenchmarkKeylessPublicGood(b *testing.B) {
	ss := testenv.NewTestSigstore(b)
	repo := testenv.NewTUFRepo(b, map[string][]byte{trustroot.TargetName: ss.TrustedRootJSON(b)})
	reg := testenv.NewRegistry(b, testenv.WithReferrersAPI())
	d := reg.PushImage(b, "app", "v1")
	ss.SignBundle(b, d, issuer, subject)
	store := &memStore{}
	newSource := func() *trustroot.Source {
		s, err := trustroot.New(trustroot.Options{Mirror: repo.URL(), Root: repo.Root(), Store: store, CacheDir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	first := newSource()
	if err := first.Init(b.Context()); err != nil {
		b.Fatal(err)
	}
	_ = first.Close()
	repo.SetDown(true)
	repo.Requests()

	b.Run("cold", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			src := newSource()
			if err := src.Init(b.Context()); err != nil {
				b.Fatal(err)
			}
			p := publicGoodPolicyB(b, src)
			client := registry.New(registry.Options{AllowInsecure: true})
			out := verify.New(client).Verify(b.Context(), d, p)
			if out.Result != verify.ResultVerified {
				b.Fatalf("%s: %s", out.Result, out.Message)
			}
			_ = src.Close()
		}
		if got := repo.Requests(); len(got) != 0 {
			b.Fatalf("cold starts sent the mirror %v", got)
		}
	})
	b.Run("warm", func(b *testing.B) {
		src := newSource()
		if err := src.Init(b.Context()); err != nil {
			b.Fatal(err)
		}
		defer func() { _ = src.Close() }()
		p := publicGoodPolicyB(b, src)
		v := verify.New(registry.New(registry.Options{AllowInsecure: true}))
		b.ReportAllocs()
		for b.Loop() {
			if out := v.Verify(b.Context(), d, p); out.Result != verify.ResultVerified {
				b.Fatalf("%s: %s", out.Result, out.Message)
			}
		}
	})
}
