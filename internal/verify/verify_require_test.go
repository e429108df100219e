package verify_test

import (
	"slices"
	"testing"

	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/testenv"
	"github.com/imagegate/imagegate/internal/verify"
)

// require counts authorities, whatever format satisfied each.
func TestVerifyRequire(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		signBoth  bool
		mode      policy.RequireMode
		threshold int
		result    verify.Result
		reason    verify.Reason
		verified  []bool // per authority a, b
	}{
		{"all, one of two signed", false, policy.RequireAll, 0, verify.ResultDenied, verify.ReasonThresholdNotMet, []bool{true, false}},
		{"any, one of two signed", false, policy.RequireAny, 0, verify.ResultVerified, verify.ReasonVerified, []bool{true, false}},
		{"threshold 2, one of two signed", false, policy.RequireThreshold, 2, verify.ResultDenied, verify.ReasonThresholdNotMet, []bool{true, false}},
		{"threshold 2, both signed", true, policy.RequireThreshold, 2, verify.ResultVerified, verify.ReasonVerified, []bool{true, true}},
		{"all, both signed", true, policy.RequireAll, 0, verify.ResultVerified, verify.ReasonVerified, []bool{true, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, testenv.WithReferrersAPI())
			a, b := testenv.NewCosignKey(t), testenv.NewCosignKey(t)
			d := e.reg.PushImage(t, "app", "v1")
			testenv.SignLegacy(t, d, a)
			if tc.signBoth {
				testenv.SignLegacy(t, d, b)
			}
			p := newPolicy([]policy.Authority{keyAuthority(t, "a", a), keyAuthority(t, "b", b)}, requireMode(tc.mode, tc.threshold))
			out, reqs := e.verify(t, d, p)
			wantOutcome(t, out, tc.result, tc.reason)
			var got []bool
			for _, r := range out.Authorities {
				got = append(got, r.Verified)
				if !r.Verified && (r.Reason != verify.ReasonNoMatchingSignature || r.Message == "") {
					t.Errorf("authority %s failed with %q %q, want NoMatchingSignature and why", r.Name, r.Reason, r.Message)
				}
			}
			if !slices.Equal(got, tc.verified) {
				t.Errorf("authorities verified = %v, want %v", got, tc.verified)
			}
			blobs := []string{payloadBlob}
			if tc.signBoth {
				blobs = append(blobs, payloadBlob)
			}
			wantRequests(t, reqs, append([]string{ping, legacyTag, referrersAPI}, blobs...)...)
		})
	}
}

// Static authorities look at nothing: zero registry requests.
func TestVerifyStatic(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		pass   bool
		result verify.Result
		reason verify.Reason
	}{
		{true, verify.ResultVerified, verify.ReasonVerified},
		{false, verify.ResultDenied, verify.ReasonStaticFail},
	} {
		t.Run(string(tc.result), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, testenv.WithReferrersAPI())
			d := e.reg.PushImage(t, "app", "v1")
			out, reqs := e.verify(t, d, newPolicy([]policy.Authority{staticAuthority("gate", tc.pass)}))
			wantOutcome(t, out, tc.result, tc.reason)
			wantRequests(t, reqs)
			if tc.pass && (len(out.Signers) != 1 || out.Signers[0].Format != verify.FormatStatic) {
				t.Errorf("signers = %+v, want one static signer", out.Signers)
			}
		})
	}
}

// A static pass beside a key does not lower require all.
func TestVerifyStaticPassWithUnsignedKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testenv.WithReferrersAPI())
	d := e.reg.PushImage(t, "app", "v1")
	p := newPolicy([]policy.Authority{staticAuthority("gate", true), keyAuthority(t, "a", testenv.NewCosignKey(t))})
	out, _ := e.verify(t, d, p)
	wantOutcome(t, out, verify.ResultDenied, verify.ReasonNoSignature)
}

func TestVerifyInvalidPolicies(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testenv.WithReferrersAPI())
	d := e.reg.PushImage(t, "app", "v1")
	for _, tc := range []struct {
		name   string
		p      *policy.Policy
		reason verify.Reason
	}{
		{"nil policy", nil, verify.ReasonNoPolicy},
		{"no authorities", newPolicy(nil), verify.ReasonInvalidPolicy},
	} {
		out, reqs := e.verify(t, d, tc.p)
		wantOutcome(t, out, verify.ResultDenied, tc.reason)
		wantRequests(t, reqs)
	}
	// An authority with nothing set is reported on that authority.
	out, _ := e.verify(t, d, newPolicy([]policy.Authority{{Name: "empty"}}))
	wantOutcome(t, out, verify.ResultDenied, verify.ReasonInvalidPolicy)
	if len(out.Authorities) != 1 || out.Authorities[0].Reason != verify.ReasonInvalidPolicy {
		t.Errorf("authorities = %+v, want InvalidPolicy on the empty one", out.Authorities)
	}
}
