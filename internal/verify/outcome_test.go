package verify

import (
	"testing"
)

func TestDecision(t *testing.T) {
	t.Parallel()
	ok := AuthorityResult{Name: "a", Verified: true}
	noMatch := AuthorityResult{Name: "b", Reason: ReasonNoMatchingSignature, Message: "other key"}
	none := AuthorityResult{Name: "c", Reason: ReasonNoSignature, Message: "no signature found"}
	staticFail := AuthorityResult{Name: "s", Reason: ReasonStaticFail, Message: "static"}
	noRoot := AuthorityResult{Name: "k", Reason: ReasonTrustRootUnavailable, Message: "no public-good root"}
	for _, tc := range []struct {
		name    string
		results []AuthorityResult
		needed  int
		sigs    signatureCounts
		result  Result
		reason  Reason
	}{
		{"all verified", []AuthorityResult{ok, ok}, 2, signatureCounts{legacy: 2}, ResultVerified, ReasonVerified},
		{"any of two", []AuthorityResult{ok, noMatch}, 1, signatureCounts{bundles: 1}, ResultVerified, ReasonVerified},
		{"nothing signed", []AuthorityResult{none, none}, 2, signatureCounts{}, ResultDenied, ReasonNoSignature},
		{"signed by others", []AuthorityResult{noMatch}, 1, signatureCounts{legacy: 1}, ResultDenied, ReasonNoMatchingSignature},
		{"one of two needed two", []AuthorityResult{ok, noMatch}, 2, signatureCounts{legacy: 1}, ResultDenied, ReasonThresholdNotMet},
		{"only static fails", []AuthorityResult{staticFail}, 1, signatureCounts{}, ResultDenied, ReasonStaticFail},
		{"static fail beside a verified key", []AuthorityResult{ok, staticFail}, 2, signatureCounts{legacy: 1}, ResultDenied, ReasonStaticFail},
		{"invalid authority", []AuthorityResult{ok, {Name: "x", Reason: ReasonInvalidPolicy, Message: "no key"}}, 2, signatureCounts{legacy: 1}, ResultDenied, ReasonInvalidPolicy},
		{"static fail and unsigned", []AuthorityResult{staticFail, none}, 2, signatureCounts{}, ResultDenied, ReasonNoSignature},
		// A keyless authority without a trusted root was not asked: it
		// decides nothing, unless the others already have.
		{"no root, require all", []AuthorityResult{ok, noRoot}, 2, signatureCounts{bundles: 1}, ResultUnavailable, ReasonTrustRootUnavailable},
		{"no root, unsigned", []AuthorityResult{noRoot}, 1, signatureCounts{}, ResultUnavailable, ReasonTrustRootUnavailable},
		{"no root, require any, the other verified", []AuthorityResult{noRoot, ok}, 1, signatureCounts{legacy: 1}, ResultVerified, ReasonVerified},
		{"no root, require all, the other denied", []AuthorityResult{noRoot, noMatch}, 2, signatureCounts{legacy: 1}, ResultDenied, ReasonNoMatchingSignature},
		{"no root, require any, the other denied", []AuthorityResult{noRoot, noMatch}, 1, signatureCounts{legacy: 1}, ResultUnavailable, ReasonTrustRootUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			result, reason, msg := decision(tc.results, tc.needed, tc.sigs)
			if result != tc.result || reason != tc.reason {
				t.Errorf("decision = %s/%s (%s), want %s/%s", result, reason, msg, tc.result, tc.reason)
			}
			if msg == "" {
				t.Error("empty message")
			}
		})
	}
}
