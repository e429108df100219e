package verify

import (
	"context"
	"fmt"
	"strings"

	"github.com/imagegate/imagegate/internal/policy"
)

// maxReportedErrors bounds how many per-signature failures an authority's
// message lists; the rest are counted.
const maxReportedErrors = 3

// checkers verifies both formats for one authority.
type checkers struct {
	legacy *legacyChecker
	bundle *bundleChecker
}

// checkAuthority evaluates one authority against the signatures fetched
// for the image. Static authorities look at nothing. An authority verifies
// when any signature of either format verifies for it.
func checkAuthority(ctx context.Context, a policy.Authority, tlog policy.TLogMode, f *fetched) AuthorityResult {
	res := AuthorityResult{Name: a.Name}
	if a.Static != nil {
		return checkStatic(a)
	}
	if k := a.Keyless; k != nil && k.TrustedRoot == nil && k.PublicGood != nil {
		res.Reason = ReasonTrustRootUnavailable
		res.Message = fmt.Sprintf("no Sigstore public-good trusted root yet (%v); retry later", k.PublicGood.Err)
		return res
	}
	c, err := newCheckers(a, tlog)
	if err != nil {
		res.Reason, res.Message = ReasonInvalidPolicy, err.Error()
		return res
	}
	var errs []string
	res.Signers, errs = c.run(ctx, a.Name, f)
	res.Verified = len(res.Signers) > 0
	switch {
	case res.Verified:
	case f.counts().total() == 0:
		res.Reason, res.Message = ReasonNoSignature, "no signature found"
	default:
		res.Reason, res.Message = ReasonNoMatchingSignature, summarize(errs)
	}
	return res
}

// run verifies every fetched signature of both formats for the authority
// named name, returning the signers that verified and why the others did
// not.
func (c *checkers) run(ctx context.Context, name string, f *fetched) ([]Signer, []string) {
	var signers []Signer
	var errs []string
	for _, ls := range f.legacy {
		if ls.err != nil {
			errs = append(errs, ls.err.Error())
			continue
		}
		id, idx, err := c.legacy.check(ctx, ls.sig, f.hash)
		if err != nil {
			errs = append(errs, fmt.Sprintf("legacy signature %s%s: %v", ls.layer, ls.tlogNote, err))
			continue
		}
		signers = append(signers, Signer{Authority: name, Format: FormatLegacy, Identity: id, RekorLogIndex: idx})
	}
	for _, bs := range f.bundles {
		if bs.err != nil {
			errs = append(errs, bs.err.Error())
			continue
		}
		id, idx, err := c.bundle.check(bs.raw, f.hash)
		if err != nil {
			errs = append(errs, fmt.Sprintf("bundle %s: %v", bs.manifest, err))
			continue
		}
		signers = append(signers, Signer{Authority: name, Format: FormatBundle, Identity: id, RekorLogIndex: idx})
	}
	return signers, errs
}

func checkStatic(a policy.Authority) AuthorityResult {
	if a.Static.Pass {
		return AuthorityResult{Name: a.Name, Verified: true, Signers: []Signer{{
			Authority: a.Name, Format: FormatStatic, Identity: "static", RekorLogIndex: -1,
		}}}
	}
	return AuthorityResult{Name: a.Name, Reason: ReasonStaticFail, Message: "static authority with action fail"}
}

func newCheckers(a policy.Authority, tlog policy.TLogMode) (*checkers, error) {
	switch {
	case a.Key != nil:
		return newKeyCheckers(a.Key)
	case a.Keyless != nil:
		return newKeylessCheckers(a.Keyless, tlog)
	default:
		return nil, fmt.Errorf("authority %q has neither key, keyless nor static set", a.Name)
	}
}

func summarize(errs []string) string {
	if len(errs) <= maxReportedErrors {
		return strings.Join(errs, "; ")
	}
	return fmt.Sprintf("%s; and %d more", strings.Join(errs[:maxReportedErrors], "; "), len(errs)-maxReportedErrors)
}
