package admission

import (
	"context"
	"errors"
	"fmt"

	"github.com/imagegate/imagegate/internal/cache"
	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/verify"
)

// stepVerify is the last step: it always decides. It denies references
// no policy covers, then judges the image under each policy that applies
// (the cluster floor and the namespace's own policy), each with its own
// mode, exceptions and requireDigest: a record approves under its policy,
// otherwise the image is verified through the shared coalescing cache (100
// concurrent requests for one new digest are one verification) and what
// this replica verified is recorded, except on dry runs. The image is
// admitted only when every policy admits it.
func stepVerify(ctx context.Context, d *deps, r *request, c *imageCheck) (verdict, bool) {
	if _, err := c.image(); err != nil {
		return verdict{Path: PathDenied, Reason: verify.ReasonInvalidReference,
			Message: fmt.Sprintf("the reference cannot be parsed: %v", err)}, true
	}
	pols, err := c.policies(ctx, d, r)
	if err != nil {
		return noPolicy(err), true
	}
	img, _ := c.image() // the tag may have been proven while matching
	var buf [2]verdict  // the floor and the namespace's policy
	vs := buf[:0]
	for _, pol := range pols {
		vs = append(vs, d.verifyUnder(ctx, r, c, img, pol))
	}
	return combine(vs), true
}

// verifyUnder judges the image under one policy.
func (d *deps) verifyUnder(ctx context.Context, r *request, c *imageCheck, img policy.Image, pol *policy.Policy) verdict {
	if pol.RequireDigest && img.Digest == "" {
		return inMode(pol, verdict{Path: PathDenied, Reason: verify.ReasonDigestRequired, Policy: pol,
			Message: fmt.Sprintf("%s %s requires a digest and %s has none", pol.Ref.Kind, pol.Ref, img)})
	}
	if img.Digest != "" {
		if v, ok := d.recorded(ctx, c, pol, img.Digest); ok {
			return v
		}
	}
	chk, err := d.checkerFor(ctx, r)
	if err != nil {
		return inMode(pol, credentialsVerdict(err))
	}
	dec := chk.CheckImage(ctx, c.ref.Image, img, pol)
	d.record(ctx, r, dec)
	return fromDecision(pol, dec)
}

func noPolicy(err error) verdict {
	v := verdict{Path: PathDenied, Reason: verify.ReasonNoPolicy, Message: err.Error()}
	switch {
	case errors.Is(err, errPoliciesNotLoaded):
		v.Reason = verify.ReasonUnavailable
	case errors.Is(err, policy.ErrInvalidPolicy):
		v.Reason = verify.ReasonInvalidPolicy
	}
	return v
}

// record writes the decision when this replica ran the verification:
// coalesced and cached results were recorded by the caller that ran them,
// and transient outcomes teach nothing. Exceptions are not recorded here:
// the webhook evaluates them from the policy at each admission and the
// audit line says so, while a record per digest would let anyone who may
// create Pods under an exception's glob add one object per made-up digest.
// (The store creates no record for a denial either.) A failed write does
// not change the decision; the next request verifies again from the cache.
func (d *deps) record(ctx context.Context, r *request, dec cache.Decision) {
	if d.recorder == nil || r.DryRun || dec.Source != cache.SourceCall {
		return
	}
	if res := dec.Outcome.Result; res == verify.ResultUnavailable || res == verify.ResultException {
		return
	}
	if _, err := d.recorder.Record(ctx, dec); err != nil {
		d.log.ErrorContext(ctx, "writing ImageVerification failed", "image", dec.Image, "digest", dec.Digest, "error", err)
		if d.onRecordError != nil {
			d.onRecordError()
		}
	}
}

func fromDecision(pol *policy.Policy, dec cache.Decision) verdict {
	o := dec.Outcome
	v := verdict{Reason: o.Reason, Message: o.Message, Policy: pol, Digest: dec.Digest}
	switch o.Result {
	case verify.ResultVerified:
		v.Path, v.Allowed = PathVerified, true
		if v.Message == "" {
			v.Message = "verified"
		}
		return v
	case verify.ResultException:
		v.Path, v.Allowed = PathException, true
		v.Warning = fmt.Sprintf("%s admitted unverified: %s", dec.Image, o.Message)
		return v
	}
	v.Path = PathDenied
	if o.Result == verify.ResultUnavailable && v.Reason == "" {
		v.Reason = verify.ReasonUnavailable
	}
	return inMode(pol, v)
}

// inMode turns a denial under a warn-mode policy into an admission with a
// warning: warn and enforce share one path and differ only here.
func inMode(pol *policy.Policy, v verdict) verdict {
	if pol != nil && pol.Mode == policy.ModeWarn && !v.Allowed {
		v.Allowed, v.Warn = true, true
	}
	return v
}
