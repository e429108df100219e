package verify_test

import (
	"testing"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/testenv"
	"github.com/imagegate/imagegate/internal/trustroot"
	"github.com/imagegate/imagegate/internal/verify"
)

// publicGoodPolicy compiles a ClusterTrustPolicy whose keyless authority
// names no trusted root, so it uses src's.
func publicGoodPolicy(t *testing.T, src policy.PublicGoodSource) *policy.Policy {
	t.Helper()
	return publicGoodPolicyB(t, src)
}

func publicGoodPolicyB(t testing.TB, src policy.PublicGoodSource) *policy.Policy {
	t.Helper()
	spec := &igv1.TrustPolicySpec{
		Images: []igv1.ImageGlob{{Glob: "**"}},
		Authorities: []igv1.Authority{{Name: "ci", Keyless: &igv1.KeylessAuthority{
			Identities: []igv1.Identity{{Issuer: issuer, Subject: subject}},
		}}},
	}
	p, err := policy.Compile(t.Context(), policy.Ref{Kind: "ClusterTrustPolicy", Name: "public-good"}, spec, nil, policy.WithPublicGood(src))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestKeylessThroughTUFRoot: the "public-good" root here is a local TUF
// repository (go-tuf metadata made in the test, served on 127.0.0.1)
// whose trusted_root.json is the test Sigstore's. A keyless bundle made
// by that Sigstore verifies through the root the TUF client obtained; it
// still verifies once the mirror serves expired metadata (the last good
// root, stale); with neither mirror nor persisted state there is no root
// and the image is Unavailable, never Denied, after the same registry
// requests.
func TestKeylessThroughTUFRoot(t *testing.T) {
	t.Parallel()
	ss := testenv.NewTestSigstore(t)
	repo := testenv.NewTUFRepo(t, map[string][]byte{trustroot.TargetName: ss.TrustedRootJSON(t)})
	newSource := func() *trustroot.Source {
		s, err := trustroot.New(trustroot.Options{Mirror: repo.URL(), Root: repo.Root(), CacheDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	e := newEnv(t, testenv.WithReferrersAPI())
	d := e.reg.PushImage(t, "app", "v1")
	ss.SignBundle(t, d, issuer, subject)

	src := newSource()
	if err := src.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	out, reqs := e.verify(t, d, publicGoodPolicy(t, src))
	wantOutcome(t, out, verify.ResultVerified, verify.ReasonVerified)
	wantRequests(t, reqs, ping, legacyTag, referrersAPI, bundleMan, bundleBlob)

	repo.ExpireTimestamp()
	if err := src.Refresh(t.Context()); err == nil {
		t.Fatal("refresh against expired timestamp metadata succeeded")
	}
	p := publicGoodPolicy(t, src)
	if pg := p.PublicGood(); pg == nil || pg.Err == nil {
		t.Fatalf("the compiled policy's root %+v, want stale", pg)
	}
	out, _ = e.verify(t, d, p)
	wantOutcome(t, out, verify.ResultVerified, verify.ReasonVerified)

	repo.SetDown(true)
	cold := newSource()
	if err := cold.Init(t.Context()); err == nil {
		t.Fatal("a cold start without mirror or cache succeeded")
	}
	out, reqs = e.verify(t, d, publicGoodPolicy(t, cold))
	wantOutcome(t, out, verify.ResultUnavailable, verify.ReasonTrustRootUnavailable)
	wantRequests(t, reqs, legacyTag, referrersAPI, bundleMan, bundleBlob)
}
