package verify_test

import (
	"regexp"
	"slices"
	"testing"

	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/testenv"
	"github.com/imagegate/imagegate/internal/verify"
)

const (
	issuer  = "https://token.example"
	subject = "release@example.com"
)

func TestVerifyKeylessBundle(t *testing.T) {
	t.Parallel()
	ss := testenv.NewTestSigstore(t)
	for _, tc := range []struct {
		name   string
		id     policy.Identity
		tlog   policy.TLogMode
		result verify.Result
		reason verify.Reason
	}{
		{"right identity", policy.Identity{Issuer: issuer, Subject: subject}, policy.TLogOffline, verify.ResultVerified, verify.ReasonVerified},
		{"right identity, tlog online, entry in the bundle (no lookup)", policy.Identity{Issuer: issuer, Subject: subject}, policy.TLogOnline, verify.ResultVerified, verify.ReasonVerified},
		{"right identity, tlog ignored (RFC 3161 timestamp)", policy.Identity{Issuer: issuer, Subject: subject}, policy.TLogIgnore, verify.ResultVerified, verify.ReasonVerified},
		{"wrong subject", policy.Identity{Issuer: issuer, Subject: "intruder@example.com"}, policy.TLogOffline, verify.ResultDenied, verify.ReasonNoMatchingSignature},
		{"wrong issuer", policy.Identity{Issuer: "https://other.example", Subject: subject}, policy.TLogOffline, verify.ResultDenied, verify.ReasonNoMatchingSignature},
		{"regexp subject", policy.Identity{Issuer: issuer, SubjectRegExp: regexp.MustCompile(`^release@example\.com$`)}, policy.TLogOffline, verify.ResultVerified, verify.ReasonVerified},
		{"regexp issuer and subject", policy.Identity{IssuerRegExp: regexp.MustCompile(`^https://token\.example$`), SubjectRegExp: regexp.MustCompile(`^[a-z]+@example\.com$`)}, policy.TLogOffline, verify.ResultVerified, verify.ReasonVerified},
		{"regexp subject not matching", policy.Identity{Issuer: issuer, SubjectRegExp: regexp.MustCompile(`^ci@example\.com$`)}, policy.TLogOffline, verify.ResultDenied, verify.ReasonNoMatchingSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, testenv.WithReferrersAPI())
			d := e.reg.PushImage(t, "app", "v1")
			ss.SignBundle(t, d, issuer, subject)
			p := newPolicy([]policy.Authority{keylessAuthority("ci", ss, tc.id)}, tlogMode(tc.tlog))

			out, reqs := e.verify(t, d, p)
			wantOutcome(t, out, tc.result, tc.reason)
			wantRequests(t, reqs, ping, legacyTag, referrersAPI, bundleMan, bundleBlob)
			if tc.result != verify.ResultVerified {
				return
			}
			want := verify.Signer{Authority: "ci", Format: verify.FormatBundle, Identity: issuer + " " + subject, RekorLogIndex: -1}
			if tc.tlog != policy.TLogIgnore {
				want.RekorLogIndex = 0 // the virtual log's index
			}
			if len(out.Signers) != 1 || out.Signers[0] != want {
				t.Errorf("signers = %+v, want [%+v]", out.Signers, want)
			}
		})
	}
}

// A keyless bundle made by another Sigstore (another CA and log) never
// verifies, whatever its identity.
func TestVerifyKeylessOtherSigstore(t *testing.T) {
	t.Parallel()
	ours, theirs := testenv.NewTestSigstore(t), testenv.NewTestSigstore(t)
	e := newEnv(t, testenv.WithReferrersAPI())
	d := e.reg.PushImage(t, "app", "v1")
	theirs.SignBundle(t, d, issuer, subject)
	p := newPolicy([]policy.Authority{keylessAuthority("ci", ours, policy.Identity{Issuer: issuer, Subject: subject})})
	out, _ := e.verify(t, d, p)
	wantOutcome(t, out, verify.ResultDenied, verify.ReasonNoMatchingSignature)
}

// A keyless bundle copied onto another image fails the digest binding.
func TestVerifyKeylessCopied(t *testing.T) {
	t.Parallel()
	ss := testenv.NewTestSigstore(t)
	e := newEnv(t, testenv.WithReferrersAPI())
	signed := e.reg.PushImage(t, "app", "v1")
	d := e.reg.PushImage(t, "app", "v2")
	ss.SignBundle(t, signed, issuer, subject)
	testenv.CopySignatures(t, signed, d)
	p := newPolicy([]policy.Authority{keylessAuthority("ci", ss, policy.Identity{Issuer: issuer, Subject: subject})})
	out, _ := e.verify(t, d, p)
	wantOutcome(t, out, verify.ResultDenied, verify.ReasonNoMatchingSignature)
}

// Two keyless authorities check the same fetched signatures (a bundle and a
// legacy signature) in parallel; each reports its own verdict.
func TestVerifyKeylessTwoAuthorities(t *testing.T) {
	t.Parallel()
	ss := testenv.NewTestSigstore(t)
	e := newEnv(t, testenv.WithReferrersAPI())
	d := e.reg.PushImage(t, "app", "v1")
	ss.SignBundle(t, d, issuer, subject)
	ss.SignLegacy(t, d, issuer, subject)
	p := newPolicy([]policy.Authority{
		keylessAuthority("release", ss, policy.Identity{Issuer: issuer, Subject: subject}),
		keylessAuthority("security", ss, policy.Identity{Issuer: issuer, Subject: "security@example.com"}),
	}, requireMode(policy.RequireAny, 0))
	out, reqs := e.verify(t, d, p)
	wantOutcome(t, out, verify.ResultVerified, verify.ReasonVerified)
	wantRequests(t, reqs, ping, legacyTag, payloadBlob, referrersAPI, bundleMan, bundleBlob)
	if len(out.Authorities) != 2 || !out.Authorities[0].Verified || out.Authorities[1].Verified ||
		out.Authorities[1].Reason != verify.ReasonNoMatchingSignature {
		t.Errorf("authorities = %+v, want release verified, security not", out.Authorities)
	}
	if got := signerFormats(out); !slices.Equal(got, []string{"release/bundle", "release/legacy"}) {
		t.Errorf("signers = %+v, want only the verified authority's", out.Signers)
	}
}
