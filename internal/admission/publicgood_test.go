package admission

import (
	"strings"
	"testing"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/cache"
	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/registry"
	"github.com/imagegate/imagegate/internal/secrets"
	"github.com/imagegate/imagegate/internal/testenv"
	"github.com/imagegate/imagegate/internal/trustroot"
	"github.com/imagegate/imagegate/internal/verify"
)

// TestPolicyStoreUsesThePublicGoodRoot: the webhook's policy store, given
// the public-good root (here from a local TUF repository carrying a test
// Sigstore's trusted root), compiles a keyless TrustPolicy without
// trustedRoot, and the image that Sigstore signed verifies through the
// webhook's checker. A store whose root could not be obtained compiles it
// too, and the same image is Unavailable, not cached: asked twice, it is
// verified twice. A store without a root source refuses the policy and
// says why.
func TestPolicyStoreUsesThePublicGoodRoot(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := newFixture(t, testenv.WithReferrersAPI())
	ss := testenv.NewTestSigstore(t)
	repo := testenv.NewTUFRepo(t, map[string][]byte{trustroot.TargetName: ss.TrustedRootJSON(t)})
	d := f.reg.PushImage(t, "app", "v1")
	ss.SignBundle(t, d, "https://token.example", "release@example.com")
	tp := testenv.TrustPolicy(f.ns, "oss", igv1.TrustPolicySpec{
		Images: []igv1.ImageGlob{{Glob: f.reg.Host() + "/**"}},
		Authorities: []igv1.Authority{{Name: "ci", Keyless: &igv1.KeylessAuthority{
			Identities: []igv1.Identity{{Issuer: "https://token.example", Subject: "release@example.com"}},
		}}},
	})
	if err := f.cl.c.Create(ctx, tp); err != nil {
		t.Fatal(err)
	}
	ref := policy.Ref{Kind: "TrustPolicy", Namespace: f.ns, Name: "oss"}
	img, err := policy.ParseImage(d.String())
	if err != nil {
		t.Fatal(err)
	}
	source := func(up bool) *trustroot.Source {
		repo.SetDown(!up)
		s, err := trustroot.New(trustroot.Options{Mirror: repo.URL(), Root: repo.Root(), CacheDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		_ = s.Init(ctx)
		return s
	}
	check := func(src policy.PublicGoodSource, times int) []verify.Result {
		t.Helper()
		store := NewPolicyStore(f.cl.c, secrets.Reader{Client: f.cl.c}, discardLog(), 0)
		if src != nil {
			store.SetPublicGood(src)
		}
		if err := store.Load(ctx); err != nil {
			t.Fatal(err)
		}
		p := store.Policies().Get(ref)
		if p == nil {
			if err := store.Invalid()[ref]; err == nil || !strings.Contains(err.Error(), "the Sigstore public-good root is disabled here") {
				t.Fatalf("policy %s neither compiled nor refused with a reason: %v", ref, err)
			}
			return nil
		}
		reg := registry.New(registry.Options{AllowInsecure: true})
		checker := cache.NewChecker(reg, verify.New(reg), cache.CheckerOptions{})
		var out []verify.Result
		for range times {
			out = append(out, checker.CheckImage(ctx, d.String(), img, p).Outcome.Result)
		}
		return out
	}

	if got := check(source(true), 1); len(got) != 1 || got[0] != verify.ResultVerified {
		t.Errorf("with the root: %v, want Verified", got)
	}
	f.reg.ResetRequests()
	if got := check(source(false), 2); len(got) != 2 || got[0] != verify.ResultUnavailable || got[1] != verify.ResultUnavailable {
		t.Errorf("without a root: %v, want Unavailable twice", got)
	}
	// Each verification reads the signatures (4 requests) after one ping:
	// the Unavailable outcome was not cached.
	if n := len(f.reg.Requests()); n != 9 {
		t.Errorf("%d registry requests for two verifications without a root, want 9 (ping, then 4 each)", n)
	}
	if got := check(nil, 1); got != nil {
		t.Errorf("without a source the policy compiled: %v", got)
	}
}
