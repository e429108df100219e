package cache

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"golang.org/x/sync/semaphore"

	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/verify"
)

// Resolver turns references into digests (internal/registry.Client).
type Resolver interface {
	ParseReference(s string) (name.Reference, error)
	Resolve(ctx context.Context, ref name.Reference) (name.Digest, error)
}

// DigestVerifier verifies one digest under one policy (internal/verify).
type DigestVerifier interface {
	Verify(ctx context.Context, d name.Digest, p *policy.Policy) verify.Outcome
}

// Decision is what imagegate concluded about one image reference.
type Decision struct {
	// Image is the reference as it was asked for.
	Image string
	// Parsed is the reference in canonical form (policy.ParseImage); its
	// tag counts for a pinned reference only once proven.
	Parsed policy.Image
	// Digest the reference resolved to; empty when it could not be resolved.
	Digest string
	// Policy that decided; nil for NoPolicy and InvalidReference.
	Policy *policy.Policy
	// Outcome of the verification, or of the step that ended it.
	Outcome verify.Outcome
	// Exception that admitted the image unverified, if any.
	Exception *policy.Exception
	// Source says whether the verification ran, was shared, or was cached.
	Source Source
}

// Admitted reports whether the image may be written or run: verified, or
// excepted.
func (d Decision) Admitted() bool {
	return d.Outcome.Result == verify.ResultVerified || d.Outcome.Result == verify.ResultException
}

// Strictest is the decision that speaks for the decisions of every policy
// that judges one image (policy.Set.Match): the first that does not admit
// it, else the first exception, else the first. ds must not be empty.
func Strictest(ds []Decision) Decision {
	for _, d := range ds {
		if !d.Admitted() || d.Digest == "" {
			return d
		}
	}
	for _, d := range ds {
		if d.Exception != nil {
			return d
		}
	}
	return ds[0]
}

// DefaultMaxConcurrent is how many verifications one process runs at
// once. A verification is mostly waiting on registry round trips, so 8
// keep two cores busy; each may hold up to verify.DefaultMaxBytes of
// signature material (16 MiB), so 8 stay near 128 MiB, inside a 512 MiB
// memory limit with the informer caches; and a registry sees at most 8
// verifications' requests from one replica, as a polite client should.
const DefaultMaxConcurrent = 8

// CheckerOptions configure a Checker.
type CheckerOptions struct {
	// VerifiedTTL is how long a verified result is trusted; default 12h.
	VerifiedTTL time.Duration
	// DeniedTTL is how long a permanent denial is kept; default 1m.
	DeniedTTL time.Duration
	// MaxConcurrent bounds the verifications running at once across the
	// process (callers coalesced onto a running one do not count); default
	// DefaultMaxConcurrent. A verification that finds every slot taken
	// waits for one until its first caller's context ends, then is
	// Unavailable.
	MaxConcurrent int
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Checker is the one way imagegate decides about an image: normalise,
// apply exceptions, resolve the tag, then verify the digest through a
// coalescing cache keyed by (digest, policy hash).
type Checker struct {
	resolver Resolver
	verifier DigestVerifier
	scope    string // Key.Scope of this view (Via)
	cache    *Cache[verify.Outcome]
	now      func() time.Time
	opts     CheckerOptions
	slots    *semaphore.Weighted
	running  *atomic.Int64 // verifications holding a slot
	timeouts *atomic.Int64 // verifications that gave up waiting for a slot
}

// NewChecker returns a Checker.
func NewChecker(r Resolver, v DigestVerifier, opts CheckerOptions) *Checker {
	if opts.VerifiedTTL <= 0 {
		opts.VerifiedTTL = 12 * time.Hour
	}
	if opts.DeniedTTL <= 0 {
		opts.DeniedTTL = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = DefaultMaxConcurrent
	}
	c := &Checker{resolver: r, verifier: v, now: opts.Now, opts: opts, slots: semaphore.NewWeighted(int64(opts.MaxConcurrent)),
		running: new(atomic.Int64), timeouts: new(atomic.Int64)}
	c.cache = New(Options[verify.Outcome]{TTL: c.ttl, Now: opts.Now, ClassOf: outcomeClass, Caps: outcomeCaps()})
	return c
}

// Via returns a view of c that resolves and verifies through r and v (a
// registry client carrying the credentials of one ImageRepository or one
// Pod) and keeps its verdicts under scope, apart from every other scope's:
// a digest verified with one tenant's credentials is not admitted for
// another tenant from the cache, nor coalesced onto its verification, so
// no tenant learns through imagegate what only another's credentials can
// read. The view shares the cache, its caps and the verification slots
// with c. scope "" is c's own (the process's credentials).
func (c *Checker) Via(scope string, r Resolver, v DigestVerifier) *Checker {
	view := *c
	view.scope, view.resolver, view.verifier = scope, r, v
	return &view
}

// TTL returns how long an outcome may be relied on: verified ones for
// VerifiedTTL, permanent denials for DeniedTTL, anything else not at all.
func (c *Checker) TTL(o verify.Outcome) time.Duration { return c.ttl(o) }

func (c *Checker) ttl(o verify.Outcome) time.Duration {
	switch o.Result {
	case verify.ResultVerified:
		return c.opts.VerifiedTTL
	case verify.ResultDenied:
		return c.opts.DeniedTTL
	default:
		return 0
	}
}

// Cache exposes the cache for metrics (Calls, Hits).
func (c *Checker) Cache() *Cache[verify.Outcome] { return c.cache }

// Check decides about image under p. p nil means no policy covers it.
func (c *Checker) Check(ctx context.Context, image string, p *policy.Policy) Decision {
	img, err := policy.ParseImage(image)
	if err != nil {
		d := Decision{Image: image, Policy: p}
		return d.end(verify.ResultDenied, verify.ReasonInvalidReference, err.Error())
	}
	return c.CheckImage(ctx, image, img, p)
}

// CheckImage is Check for a reference already parsed (policy.ParseImage)
// as img, which may carry a proven tag. Registry requests go to the
// canonical reference, whatever spelling image used.
func (c *Checker) CheckImage(ctx context.Context, image string, img policy.Image, p *policy.Policy) Decision {
	d := Decision{Image: image, Parsed: img, Policy: p}
	ref, err := c.resolver.ParseReference(img.String())
	if err != nil {
		return d.end(verify.ResultDenied, verify.ReasonInvalidReference, fmt.Sprintf("image reference %q cannot be parsed: %v", image, err))
	}
	if p == nil {
		return d.end(verify.ResultDenied, verify.ReasonNoPolicy,
			fmt.Sprintf("no TrustPolicy or ClusterTrustPolicy covers %s; add one whose images glob matches it", d.Parsed))
	}
	digest, err := c.resolver.Resolve(ctx, ref)
	if err != nil {
		return d.resolveFailed(ctx, err)
	}
	d.Digest = digest.DigestStr()
	if e, ok := c.exception(ctx, &d, p); ok {
		d.Exception = &e
		return d.end(verify.ResultException, verify.ReasonException,
			fmt.Sprintf("admitted unverified under an exception of %s %s: %s (expires %s)", p.Ref.Kind, p.Ref, e.Reason, expiry(e)))
	}
	out, src, err := c.cache.Get(ctx, Key{Digest: d.Digest, PolicyHash: p.Hash, Scope: c.scope}, func(callCtx context.Context) verify.Outcome {
		return c.verifyInSlot(ctx, callCtx, digest, p)
	})
	if err != nil {
		return d.end(verify.ResultUnavailable, verify.ReasonUnavailable, "gave up waiting for the verification: "+err.Error())
	}
	d.Outcome, d.Source = out, src
	return d
}

// exception returns p's unexpired exception for the image. A tag-scoped
// exception applies to repo:tag@digest only when the tag, resolved now,
// names that digest: the one registry request is made only when such an
// exception is all that would apply.
func (c *Checker) exception(ctx context.Context, d *Decision, p *policy.Policy) (policy.Exception, bool) {
	now := c.now()
	if e, ok := p.ExceptionFor(d.Parsed, now); ok || !d.Parsed.PinnedWithTag() {
		return e, ok
	}
	e, ok := p.ExceptionFor(d.Parsed.TagProven(), now)
	if !ok || !c.TagNamesDigest(ctx, d.Parsed) {
		return policy.Exception{}, false
	}
	d.Parsed = d.Parsed.TagProven()
	return e, true
}

// TagNamesDigest resolves the tag of repo:tag@digest (one registry
// request) and reports whether it names that digest now. Any failure to
// resolve it is a no: the reference is then judged by its digest alone.
func (c *Checker) TagNamesDigest(ctx context.Context, img policy.Image) bool {
	if img.Tag == "" || img.Digest == "" {
		return false
	}
	ref, err := c.resolver.ParseReference(img.Repository + ":" + img.Tag)
	if err != nil {
		return false
	}
	got, err := c.resolver.Resolve(ctx, ref)
	return err == nil && got.DigestStr() == img.Digest
}

// verifyInSlot runs one verification once a slot is free. The wait is
// bounded by the context of the caller that started the verification (a
// request's deadline): a verification still queued when it ends is
// Unavailable, which is never cached nor recorded, and has sent no
// request. Once running, it works under callCtx, shared by every caller
// coalesced onto it.
func (c *Checker) verifyInSlot(waitCtx, callCtx context.Context, d name.Digest, p *policy.Policy) verify.Outcome {
	if err := c.slots.Acquire(waitCtx, 1); err != nil {
		c.timeouts.Add(1)
		return verify.Outcome{Digest: d.DigestStr(), Result: verify.ResultUnavailable, Reason: verify.ReasonUnavailable,
			Message: fmt.Sprintf("%s: all %d verification slots stayed busy until the request gave up (%v); transient: retry", d, c.opts.MaxConcurrent, err)}
	}
	defer c.slots.Release(1)
	c.running.Add(1)
	defer c.running.Add(-1)
	return c.verifier.Verify(callCtx, d, p)
}

// Running is the number of verifications holding a slot now.
func (c *Checker) Running() int64 { return c.running.Load() }

// SlotTimeouts is the number of verifications that gave up waiting for a
// slot (see CheckerOptions.MaxConcurrent).
func (c *Checker) SlotTimeouts() int64 { return c.timeouts.Load() }

// resolveFailed reports a tag that could not be resolved, as
// verify.RegistryVerdict decides for every role: Unavailable is never
// cached (nothing is, without a digest) and makes the gate retry.
func (d Decision) resolveFailed(ctx context.Context, err error) Decision {
	result, reason, hint := verify.RegistryVerdict(ctx, err, verify.ReasonNotPullable)
	switch reason {
	case verify.ReasonTagNotFound:
		return d.end(result, reason, fmt.Sprintf("%s: the tag does not exist in the registry", d.Parsed))
	case verify.ReasonNotPullable:
		hint = "the registry refuses it; read its answer"
	}
	return d.end(result, reason, fmt.Sprintf("resolving %s: %v (%s)", d.Parsed, err, hint))
}

func (d Decision) end(r verify.Result, reason verify.Reason, msg string) Decision {
	d.Outcome = verify.Outcome{Digest: d.Digest, Result: r, Reason: reason, Message: msg}
	d.Source = SourceCall
	return d
}

func expiry(e policy.Exception) string {
	if e.Expires.IsZero() {
		return "never"
	}
	return e.Expires.UTC().Format(time.RFC3339)
}
