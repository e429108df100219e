package verify

import (
	"errors"
	"fmt"

	"github.com/sigstore/cosign/v2/pkg/cosign"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/imagegate/imagegate/internal/policy"
)

// newKeylessCheckers verifies Fulcio-certificate signatures whose identity
// matches one of the authority's identities, chaining to its trusted root.
//
// Transparency log, by policy mode (tlog.go says what each requires):
//   - offline and online: a log entry must verify offline against the
//     trusted root's Rekor keys (SET / inclusion proof in the signature, or
//     for online an entry Verify looked up before and attached to the
//     signature), and its integrated time (or an RFC 3161 timestamp) must
//     fall within the short-lived certificate's validity.
//   - ignore: no log entry is required; a short-lived certificate then
//     needs an RFC 3161 timestamp from a timestamp authority of the root.
//
// Certificate transparency: an embedded SCT is required when the trusted
// root lists CT logs, and not otherwise, so the root decides.
func newKeylessCheckers(k *policy.KeylessAuthority, tlog policy.TLogMode) (*checkers, error) {
	if k.TrustedRoot == nil {
		return nil, errors.New("keyless authority without a trusted root")
	}
	if len(k.Identities) == 0 {
		return nil, errors.New("keyless authority without identities")
	}
	requireSCT := len(k.TrustedRoot.CTLogs()) > 0
	sgv, err := sgverify.NewVerifier(k.TrustedRoot, keylessVerifierOptions(tlog, requireSCT)...)
	if err != nil {
		return nil, fmt.Errorf("bundle verifier: %w", err)
	}
	policyOpts, identities, err := keylessIdentities(k.Identities)
	if err != nil {
		return nil, err
	}
	return &checkers{
		legacy: &legacyChecker{
			opts: cosign.CheckOpts{
				TrustedMaterial:     k.TrustedRoot,
				Identities:          identities,
				IgnoreSCT:           !requireSCT,
				IgnoreTlog:          tlog == policy.TLogIgnore,
				UseSignedTimestamps: tlog == policy.TLogIgnore && len(k.TrustedRoot.TimestampingAuthorities()) > 0,
				Offline:             true,
			},
			identity:     certIdentity,
			requireEntry: tlog != policy.TLogIgnore,
			noEntryHint:  noEntryHint(tlog, true),
		},
		bundle: &bundleChecker{
			verifier: sgv, policy: policyOpts, identity: summaryIdentity,
			requireEntry: tlog != policy.TLogIgnore, noEntryHint: noEntryHint(tlog, false),
		},
	}, nil
}

func keylessVerifierOptions(tlog policy.TLogMode, requireSCT bool) []sgverify.VerifierOption {
	opts := []sgverify.VerifierOption{sgverify.WithObserverTimestamps(1)}
	if tlog != policy.TLogIgnore {
		opts = append(opts, sgverify.WithTransparencyLog(1))
	}
	if requireSCT {
		opts = append(opts, sgverify.WithSignedCertificateTimestamps(1))
	}
	return opts
}

// keylessIdentities converts the policy's identities for both verifiers.
// Regular expressions are matched unanchored, as cosign does: anchor them in
// the policy.
func keylessIdentities(ids []policy.Identity) ([]sgverify.PolicyOption, []cosign.Identity, error) {
	var opts []sgverify.PolicyOption
	var cids []cosign.Identity
	for _, id := range ids {
		ci := cosign.Identity{Issuer: id.Issuer, Subject: id.Subject}
		if id.IssuerRegExp != nil {
			ci.IssuerRegExp = id.IssuerRegExp.String()
		}
		if id.SubjectRegExp != nil {
			ci.SubjectRegExp = id.SubjectRegExp.String()
		}
		sid, err := sgverify.NewShortCertificateIdentity(ci.Issuer, ci.IssuerRegExp, ci.Subject, ci.SubjectRegExp)
		if err != nil {
			return nil, nil, fmt.Errorf("identity issuer %q subject %q: %w", ci.Issuer+ci.IssuerRegExp, ci.Subject+ci.SubjectRegExp, err)
		}
		opts = append(opts, sgverify.WithCertificateIdentity(sid))
		cids = append(cids, ci)
	}
	return opts, cids, nil
}
