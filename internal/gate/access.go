package gate

import (
	"context"
	"errors"

	imagev1 "github.com/fluxcd/image-reflector-controller/api/v1"

	"github.com/imagegate/imagegate/internal/cache"
	"github.com/imagegate/imagegate/internal/credentials"
	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/verify"
)

// access is the registry access of one selection, read when first needed:
// a selection approved from ImageVerifications reads no credentials.
type access struct {
	r    *Reconciler
	ip   *imagev1.ImagePolicy
	chk  *cache.Checker
	err  error
	done bool
}

// checker returns the checker that reaches the registry with the
// selection's credentials (its ImageRepository's, then the process's).
func (a *access) checker(ctx context.Context) (*cache.Checker, error) {
	if !a.done {
		a.done = true
		a.chk = a.r.Checker
		if a.r.Credentials != nil {
			acc, err := a.r.Credentials.ForPolicy(ctx, a.ip)
			a.chk, a.err = acc.Checker, err
		}
	}
	return a.chk, a.err
}

// TagNamesDigest asks with the selection's credentials; credentials that
// cannot be read prove no tag.
func (a *access) TagNamesDigest(ctx context.Context, img policy.Image) bool {
	chk, err := a.checker(ctx)
	return err == nil && chk.TagNamesDigest(ctx, img)
}

// deniedCredentials is the decision about a selection whose credentials
// could not be read: CredentialsInvalid until the ImageRepository or its
// Secrets change, Unavailable (retried soon) when the API server failed.
func deniedCredentials(image string, img policy.Image, p *policy.Policy, err error) cache.Decision {
	d := cache.Decision{Image: image, Parsed: img, Policy: p, Source: cache.SourceCall,
		Outcome: verify.Outcome{Result: verify.ResultDenied, Reason: verify.ReasonCredentialsInvalid, Message: err.Error()}}
	if !errors.Is(err, credentials.ErrInvalid) {
		d.Outcome.Result, d.Outcome.Reason = verify.ResultUnavailable, verify.ReasonUnavailable
		d.Outcome.Message += " (transient: retry)"
	}
	return d
}
