package verify_test

import (
	"testing"

	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/testenv"
	"github.com/imagegate/imagegate/internal/verify"
)

// Keyless legacy signatures (cosign 2 with Fulcio): certificate chain,
// Rekor bundle and RFC 3161 timestamp in the .sig layer's annotations,
// checked by cosign/v2 against the authority's trusted root.
func TestVerifyKeylessLegacy(t *testing.T) {
	t.Parallel()
	ss := testenv.NewTestSigstore(t)
	for _, tc := range []struct {
		name    string
		subject string
		tlog    policy.TLogMode
		result  verify.Result
		reason  verify.Reason
		index   int64
	}{
		{"right identity", subject, policy.TLogOffline, verify.ResultVerified, verify.ReasonVerified, 1000},
		{"right identity, tlog ignored", subject, policy.TLogIgnore, verify.ResultVerified, verify.ReasonVerified, -1},
		{"wrong subject", "intruder@example.com", policy.TLogOffline, verify.ResultDenied, verify.ReasonNoMatchingSignature, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, testenv.WithReferrersAPI())
			d := e.reg.PushImage(t, "app", "v1")
			ss.SignLegacy(t, d, issuer, subject)
			p := newPolicy([]policy.Authority{keylessAuthority("ci", ss, policy.Identity{Issuer: issuer, Subject: tc.subject})}, tlogMode(tc.tlog))
			out, reqs := e.verify(t, d, p)
			wantOutcome(t, out, tc.result, tc.reason)
			wantRequests(t, reqs, ping, legacyTag, payloadBlob, referrersAPI)
			if tc.result != verify.ResultVerified {
				return
			}
			want := verify.Signer{Authority: "ci", Format: verify.FormatLegacy, Identity: issuer + " " + subject, RekorLogIndex: tc.index}
			if len(out.Signers) != 1 || out.Signers[0] != want {
				t.Errorf("signers = %+v, want [%+v]", out.Signers, want)
			}
		})
	}
}

// A keyless legacy signature copied from another image fails the payload's
// digest claim.
func TestVerifyKeylessLegacyCopied(t *testing.T) {
	t.Parallel()
	ss := testenv.NewTestSigstore(t)
	e := newEnv(t, testenv.WithReferrersAPI())
	signed := e.reg.PushImage(t, "app", "v1")
	d := e.reg.PushImage(t, "app", "v2")
	ss.SignLegacy(t, signed, issuer, subject)
	testenv.CopySignatures(t, signed, d)
	out, _ := e.verify(t, d, newPolicy([]policy.Authority{keylessAuthority("ci", ss, policy.Identity{Issuer: issuer, Subject: subject})}))
	wantOutcome(t, out, verify.ResultDenied, verify.ReasonNoMatchingSignature)
}
