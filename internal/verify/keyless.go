package verify

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/sigstore/cosign/v2/pkg/cosign"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/imagegate/imagegate/internal/policy"
)

// newKeylessCheckers verifies Fulcio-certificate signatures whose identity
// (issuer, subject and Fulcio extensions) matches one of the authority's
// identities, chaining to its trusted root.
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
	ids, err := certificateIdentities(k.Identities)
	if err != nil {
		return nil, err
	}
	policyOpts := make([]sgverify.PolicyOption, 0, len(ids))
	for _, id := range ids {
		policyOpts = append(policyOpts, sgverify.WithCertificateIdentity(id))
	}
	return &checkers{
		legacy: &legacyChecker{
			opts: cosign.CheckOpts{
				TrustedMaterial:     k.TrustedRoot,
				Identities:          cosignIdentities(k.Identities),
				IgnoreSCT:           !requireSCT,
				IgnoreTlog:          tlog == policy.TLogIgnore,
				UseSignedTimestamps: tlog == policy.TLogIgnore && len(k.TrustedRoot.TimestampingAuthorities()) > 0,
				Offline:             true,
			},
			certIdentities: ids,
			identity:       certIdentity,
			requireEntry:   tlog != policy.TLogIgnore,
			noEntryHint:    noEntryHint(tlog, true),
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

// certificateIdentities converts the policy's identities to sigstore-go's
// matchers: issuer and subject (literal or anchored regexp) and the Fulcio
// extensions that must equal the certificate's. One matcher serves both
// formats: the bundle verifier applies it, and the legacy checker applies
// it to the certificate cosign verified (see legacyChecker).
func certificateIdentities(ids []policy.Identity) (sgverify.CertificateIdentities, error) {
	out := make(sgverify.CertificateIdentities, 0, len(ids))
	for _, id := range ids {
		san, err := sgverify.NewSANMatcher(id.Subject, regexpString(id.SubjectRegExp))
		if err != nil {
			return nil, fmt.Errorf("identity subject %q: %w", id.Subject+regexpString(id.SubjectRegExp), err)
		}
		iss, err := sgverify.NewIssuerMatcher(id.Issuer, regexpString(id.IssuerRegExp))
		if err != nil {
			return nil, fmt.Errorf("identity issuer %q: %w", id.Issuer+regexpString(id.IssuerRegExp), err)
		}
		ci, err := sgverify.NewCertificateIdentity(san, iss, id.Extensions)
		if err != nil {
			return nil, fmt.Errorf("identity issuer %q subject %q: %w", id.Issuer+regexpString(id.IssuerRegExp), id.Subject+regexpString(id.SubjectRegExp), err)
		}
		out = append(out, ci)
	}
	return out, nil
}

// cosignIdentities are the issuer and subject matchers for cosign's own
// legacy check. Extensions are not among them: CheckOpts has one set of
// CertGithubWorkflow* fields for all identities, and none for the source
// repository extensions, so the extensions are checked per identity by
// certificateIdentities' matchers instead.
func cosignIdentities(ids []policy.Identity) []cosign.Identity {
	out := make([]cosign.Identity, 0, len(ids))
	for _, id := range ids {
		out = append(out, cosign.Identity{
			Issuer: id.Issuer, IssuerRegExp: regexpString(id.IssuerRegExp),
			Subject: id.Subject, SubjectRegExp: regexpString(id.SubjectRegExp),
		})
	}
	return out
}

func regexpString(re *regexp.Regexp) string {
	if re == nil {
		return ""
	}
	return re.String()
}
