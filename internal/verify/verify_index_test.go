package verify_test

import (
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/testenv"
	"github.com/imagegate/imagegate/internal/verify"
)

// A multi-arch index is verified by its own digest, signed in both formats,
// and probed for the configured platforms.
func TestVerifyIndex(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testenv.WithReferrersAPI())
	a, b := testenv.NewCosignKey(t), testenv.NewCosignKey(t)
	idx, children := e.reg.PushIndex(t, "app", "v1")
	testenv.SignLegacy(t, idx, a)
	testenv.SignBundle(t, idx, b)
	p := newPolicy([]policy.Authority{keyAuthority(t, "a", a), keyAuthority(t, "b", b)}, func(p *policy.Policy) {
		p.Pullability = policy.Pullability{Enabled: true, Platforms: []v1.Platform{{OS: "linux", Architecture: "amd64"}}}
	})
	out, _ := e.verify(t, idx, p)
	wantOutcome(t, out, verify.ResultVerified, verify.ReasonVerified)

	// A platform image is another digest: the index's signatures do not
	// cover it.
	out, _ = e.verify(t, children["linux/amd64"], p)
	wantOutcome(t, out, verify.ResultDenied, verify.ReasonNoSignature)
}
