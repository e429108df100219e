package verify_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/testenv"
	"github.com/imagegate/imagegate/internal/verify"
)

// keyCase signs (or not) an image in a fresh registry and says what Verify
// must answer and exactly which requests it may send. Requests include the
// registry ping of the fresh client.
type keyCase struct {
	name     string
	registry []testenv.RegistryOption
	// setup pushes and signs; it returns the digest to verify and the policy.
	setup    func(t *testing.T, e *env, a, b *testenv.CosignKey) (name.Digest, *policy.Policy)
	result   verify.Result
	reason   verify.Reason
	formats  []string // authority/format of the signers
	requests []string
	why      string // in the first authority's message
}

func TestVerifyKeySignatures(t *testing.T) {
	t.Parallel()
	onlyA := func(t *testing.T, a *testenv.CosignKey) *policy.Policy {
		return newPolicy([]policy.Authority{keyAuthority(t, "a", a)})
	}
	cases := []keyCase{
		{
			name: "legacy signature by the policy key",
			setup: func(t *testing.T, e *env, a, _ *testenv.CosignKey) (name.Digest, *policy.Policy) {
				d := e.reg.PushImage(t, "app", "v1")
				testenv.SignLegacy(t, d, a)
				return d, onlyA(t, a)
			},
			result: verify.ResultVerified, reason: verify.ReasonVerified, formats: []string{"a/legacy"},
			requests: []string{ping, legacyTag, payloadBlob, referrersAPI},
		},
		{
			name: "unsigned image",
			setup: func(t *testing.T, e *env, a, _ *testenv.CosignKey) (name.Digest, *policy.Policy) {
				return e.reg.PushImage(t, "app", "v1"), onlyA(t, a)
			},
			result: verify.ResultDenied, reason: verify.ReasonNoSignature,
			requests: []string{ping, legacyTag, referrersAPI},
		},
		{
			name:     "unsigned image, tag schema registry",
			registry: []testenv.RegistryOption{},
			setup: func(t *testing.T, e *env, a, _ *testenv.CosignKey) (name.Digest, *policy.Policy) {
				return e.reg.PushImage(t, "app", "v1"), onlyA(t, a)
			},
			result: verify.ResultDenied, reason: verify.ReasonNoSignature,
			requests: []string{ping, legacyTag, referrersAPI, fallbackTag},
		},
		{
			name: "legacy signature by another key",
			setup: func(t *testing.T, e *env, a, b *testenv.CosignKey) (name.Digest, *policy.Policy) {
				d := e.reg.PushImage(t, "app", "v1")
				testenv.SignLegacy(t, d, b)
				return d, onlyA(t, a)
			},
			result: verify.ResultDenied, reason: verify.ReasonNoMatchingSignature,
			requests: []string{ping, legacyTag, payloadBlob, referrersAPI},
		},
		{
			name: "legacy signature copied from another image",
			setup: func(t *testing.T, e *env, a, _ *testenv.CosignKey) (name.Digest, *policy.Policy) {
				signed := e.reg.PushImage(t, "app", "v1")
				d := e.reg.PushImage(t, "app", "v2")
				testenv.SignLegacy(t, signed, a)
				testenv.CopySignatures(t, signed, d)
				return d, onlyA(t, a)
			},
			result: verify.ResultDenied, reason: verify.ReasonNoMatchingSignature,
			requests: []string{ping, legacyTag, payloadBlob, referrersAPI},
			why:      "invalid or missing digest in claim",
		},
		{
			name: "bundle by the policy key through the referrers API",
			setup: func(t *testing.T, e *env, a, _ *testenv.CosignKey) (name.Digest, *policy.Policy) {
				d := e.reg.PushImage(t, "app", "v1")
				testenv.SignBundle(t, d, a)
				return d, onlyA(t, a)
			},
			result: verify.ResultVerified, reason: verify.ReasonVerified, formats: []string{"a/bundle"},
			requests: []string{ping, legacyTag, referrersAPI, bundleMan, bundleBlob},
		},
		{
			name:     "bundle by the policy key through the tag schema",
			registry: []testenv.RegistryOption{},
			setup: func(t *testing.T, e *env, a, _ *testenv.CosignKey) (name.Digest, *policy.Policy) {
				d := e.reg.PushImage(t, "app", "v1")
				testenv.SignBundle(t, d, a)
				return d, onlyA(t, a)
			},
			result: verify.ResultVerified, reason: verify.ReasonVerified, formats: []string{"a/bundle"},
			requests: []string{ping, legacyTag, referrersAPI, fallbackTag, bundleMan, bundleBlob},
		},
		{
			name: "bundle by another key",
			setup: func(t *testing.T, e *env, a, b *testenv.CosignKey) (name.Digest, *policy.Policy) {
				d := e.reg.PushImage(t, "app", "v1")
				testenv.SignBundle(t, d, b)
				return d, onlyA(t, a)
			},
			result: verify.ResultDenied, reason: verify.ReasonNoMatchingSignature,
			requests: []string{ping, legacyTag, referrersAPI, bundleMan, bundleBlob},
		},
		{
			name: "bundle referrer copied from another image",
			setup: func(t *testing.T, e *env, a, _ *testenv.CosignKey) (name.Digest, *policy.Policy) {
				signed := e.reg.PushImage(t, "app", "v1")
				d := e.reg.PushImage(t, "app", "v2")
				testenv.SignBundle(t, signed, a)
				testenv.CopySignatures(t, signed, d)
				return d, onlyA(t, a)
			},
			result: verify.ResultDenied, reason: verify.ReasonNoMatchingSignature,
			requests: []string{ping, legacyTag, referrersAPI, bundleMan, bundleBlob},
			why:      "artifact digest does not match",
		},
		{
			name:     "referrers index copied from another image, tag schema",
			registry: []testenv.RegistryOption{},
			setup: func(t *testing.T, e *env, a, _ *testenv.CosignKey) (name.Digest, *policy.Policy) {
				signed := e.reg.PushImage(t, "app", "v1")
				d := e.reg.PushImage(t, "app", "v2")
				testenv.SignBundle(t, signed, a)
				testenv.CopySignatures(t, signed, d)
				return d, onlyA(t, a)
			},
			result: verify.ResultDenied, reason: verify.ReasonNoMatchingSignature,
			requests: []string{ping, legacyTag, referrersAPI, fallbackTag, bundleMan, bundleBlob},
			why:      "artifact digest does not match",
		},
		{
			name: "only an SBOM referrer",
			setup: func(t *testing.T, e *env, a, _ *testenv.CosignKey) (name.Digest, *policy.Policy) {
				d := e.reg.PushImage(t, "app", "v1")
				testenv.PushSBOMReferrer(t, d)
				return d, onlyA(t, a)
			},
			result: verify.ResultDenied, reason: verify.ReasonNoSignature,
			requests: []string{ping, legacyTag, referrersAPI},
		},
		{
			name: "legacy by key a and bundle by key b, require all",
			setup: func(t *testing.T, e *env, a, b *testenv.CosignKey) (name.Digest, *policy.Policy) {
				d := e.reg.PushImage(t, "app", "v1")
				testenv.SignLegacy(t, d, a)
				testenv.SignBundle(t, d, b)
				return d, newPolicy([]policy.Authority{keyAuthority(t, "a", a), keyAuthority(t, "b", b)})
			},
			result: verify.ResultVerified, reason: verify.ReasonVerified, formats: []string{"a/legacy", "b/bundle"},
			requests: []string{ping, legacyTag, payloadBlob, referrersAPI, bundleMan, bundleBlob},
		},
		{
			name:     "legacy by key a and bundle by key b, require all, tag schema",
			registry: []testenv.RegistryOption{},
			setup: func(t *testing.T, e *env, a, b *testenv.CosignKey) (name.Digest, *policy.Policy) {
				d := e.reg.PushImage(t, "app", "v1")
				testenv.SignLegacy(t, d, a)
				testenv.SignBundle(t, d, b)
				return d, newPolicy([]policy.Authority{keyAuthority(t, "a", a), keyAuthority(t, "b", b)})
			},
			result: verify.ResultVerified, reason: verify.ReasonVerified, formats: []string{"a/legacy", "b/bundle"},
			requests: []string{ping, legacyTag, payloadBlob, referrersAPI, fallbackTag, bundleMan, bundleBlob},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts := []testenv.RegistryOption{testenv.WithReferrersAPI()}
			if tc.registry != nil {
				opts = tc.registry
			}
			e := newEnv(t, opts...)
			a, b := testenv.NewCosignKey(t), testenv.NewCosignKey(t)
			d, p := tc.setup(t, e, a, b)
			out, reqs := e.verify(t, d, p)
			wantOutcome(t, out, tc.result, tc.reason)
			if got := signerFormats(out); !slices.Equal(got, tc.formats) {
				t.Errorf("signers = %v, want %v", got, tc.formats)
			}
			wantRequests(t, reqs, tc.requests...)
			if tc.why != "" && !strings.Contains(out.Authorities[0].Message, tc.why) {
				t.Errorf("authority message %q, want it to say %q", out.Authorities[0].Message, tc.why)
			}
			if out.Digest != d.DigestStr() || !out.VerifiedAt.Equal(fixedNow) {
				t.Errorf("digest %s at %s, want %s at %s", out.Digest, out.VerifiedAt, d.DigestStr(), fixedNow)
			}
		})
	}
}

// The signer identity of a key is the fingerprint of its DER public key,
// the same for both formats, and a warm client sends no second ping.
func TestVerifyKeySignerIdentityAndWarmClient(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testenv.WithReferrersAPI())
	a := testenv.NewCosignKey(t)
	d := e.reg.PushImage(t, "app", "v1")
	testenv.SignLegacy(t, d, a)
	testenv.SignBundle(t, d, a)
	p := newPolicy([]policy.Authority{keyAuthority(t, "a", a)})

	out, reqs := e.verify(t, d, p)
	wantOutcome(t, out, verify.ResultVerified, verify.ReasonVerified)
	wantRequests(t, reqs, ping, legacyTag, payloadBlob, referrersAPI, bundleMan, bundleBlob)
	if len(out.Signers) != 2 {
		t.Fatalf("signers = %+v, want one per format", out.Signers)
	}
	for _, s := range out.Signers {
		if !strings.HasPrefix(s.Identity, "key sha256:") || len(s.Identity) != len("key sha256:")+64 || s.Identity != out.Signers[0].Identity {
			t.Errorf("identity %q, want the same key sha256:<64 hex> for both formats", s.Identity)
		}
		if s.RekorLogIndex != -1 {
			t.Errorf("rekor log index %d for a signature without log entry, want -1", s.RekorLogIndex)
		}
	}
	if len(out.Authorities) != 1 || !out.Authorities[0].Verified || out.Authorities[0].Reason != "" {
		t.Errorf("authorities = %+v", out.Authorities)
	}

	_, reqs = e.verify(t, d, p)
	wantRequests(t, reqs, legacyTag, payloadBlob, referrersAPI, bundleMan, bundleBlob)
}
