package verify

import (
	"fmt"
	"strings"
	"time"
)

// Signer is one signature that verified for an authority.
type Signer struct {
	// Authority is the policy authority the signature verified for.
	Authority string
	// Format is where the signature was found.
	Format Format
	// Identity is "key sha256:<hex>" (fingerprint of the DER public key)
	// for keys, "<issuer> <subject>" of the certificate for keyless, and
	// "static" for static authorities.
	Identity string
	// RekorLogIndex is the index of the transparency log entry that was
	// verified with the signature, or -1 when none was.
	RekorLogIndex int64
}

// AuthorityResult is the verdict of one authority of the policy.
type AuthorityResult struct {
	Name     string
	Verified bool
	// Signers are the signatures that verified for this authority.
	Signers []Signer
	// Reason and Message say why the authority did not verify; empty when
	// it did.
	Reason  Reason
	Message string
}

// Outcome is the result of verifying one digest under one policy.
type Outcome struct {
	// Digest is "sha256:<hex>".
	Digest      string
	Result      Result
	Reason      Reason
	Message     string
	Authorities []AuthorityResult
	// Signers are the signers of the authorities that verified.
	Signers    []Signer
	VerifiedAt time.Time
}

// signersOf collects the signers of verified authorities, in policy order.
func signersOf(results []AuthorityResult) []Signer {
	var out []Signer
	for _, r := range results {
		if r.Verified {
			out = append(out, r.Signers...)
		}
	}
	return out
}

// decision applies the require rule to authority results. It is a pure
// function so that every combination is table-tested without a registry.
func decision(results []AuthorityResult, needed int, sigs signatureCounts) (Result, Reason, string) {
	verified, noRoot := 0, 0
	var failed []string
	allStatic, invalid := true, false
	for _, r := range results {
		if r.Verified {
			verified++
			continue
		}
		failed = append(failed, fmt.Sprintf("%s: %s", r.Name, r.Message))
		allStatic = allStatic && r.Reason == ReasonStaticFail
		invalid = invalid || r.Reason == ReasonInvalidPolicy
		if r.Reason == ReasonTrustRootUnavailable {
			noRoot++
		}
	}
	if verified >= needed {
		return ResultVerified, ReasonVerified, fmt.Sprintf("%d of %d authorities verified (%d needed)", verified, len(results), needed)
	}
	detail := strings.Join(failed, "; ")
	switch {
	// Authorities without a trusted root were not asked: when they could
	// make up the difference, nothing is decided yet.
	case noRoot > 0 && verified+noRoot >= needed:
		return ResultUnavailable, ReasonTrustRootUnavailable, "the Sigstore public-good trusted root could not be obtained, retry later: " + detail
	case invalid:
		return ResultDenied, ReasonInvalidPolicy, "the policy cannot be applied: " + detail + "; fix the TrustPolicy"
	case allStatic:
		return ResultDenied, ReasonStaticFail, "the policy's static authorities fail every image: " + detail
	case sigs.total() == 0:
		return ResultDenied, ReasonNoSignature, "no cosign signature found (no .sig tag, no Sigstore bundle referrer); sign the image with a key or identity the policy trusts"
	case verified == 0:
		return ResultDenied, ReasonNoMatchingSignature, fmt.Sprintf("%s found, none verified for any authority (%s); sign the image with a key or identity the policy trusts", sigs, detail)
	default:
		return ResultDenied, ReasonThresholdNotMet, fmt.Sprintf("%d of %d authorities verified, %d needed (%s)", verified, len(results), needed, detail)
	}
}

// signatureCounts says how many signatures of each format were found.
type signatureCounts struct{ legacy, bundles int }

func (c signatureCounts) total() int { return c.legacy + c.bundles }

func (c signatureCounts) String() string {
	return fmt.Sprintf("%d legacy signature(s) and %d Sigstore bundle(s)", c.legacy, c.bundles)
}
