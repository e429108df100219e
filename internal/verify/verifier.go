package verify

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/registry"
)

// Registry is what verification needs from internal/registry: remote
// options carrying the guarded transport and a shared Puller, and the
// pullability probe.
type Registry interface {
	RemoteOptions(ctx context.Context) []remote.Option
	Probe(ctx context.Context, d name.Digest, platforms []v1.Platform) error
}

// Verifier verifies image digests under compiled policies. It is safe for
// concurrent use and keeps no per-image state: caching and coalescing of
// outcomes are internal/cache's. It keeps only the Rekor entries tlog mode
// online looked up, by signature (rekor.go).
type Verifier struct {
	reg      Registry
	rekor    *rekor
	now      func() time.Time
	maxBytes int64
}

// Option configures a Verifier.
type Option func(*Verifier)

// WithClock sets the clock that stamps Outcome.VerifiedAt.
func WithClock(now func() time.Time) Option {
	return func(v *Verifier) { v.now = now }
}

// WithMaxBytes bounds the bytes one verification receives from the
// registry (DefaultMaxBytes when n <= 0).
func WithMaxBytes(n int64) Option {
	return func(v *Verifier) {
		if n > 0 {
			v.maxBytes = n
		}
	}
}

// New returns a Verifier reading signatures through reg.
func New(reg Registry, opts ...Option) *Verifier {
	v := &Verifier{reg: reg, now: time.Now, maxBytes: DefaultMaxBytes}
	for _, o := range opts {
		o(v)
	}
	v.rekor = newRekor()
	return v
}

// RekorRequests returns how many HTTP requests Rekor lookups have sent.
func (v *Verifier) RekorRequests() int64 { return v.rekor.requests.Load() }

// RekorCacheEntries returns how many Rekor lookups are cached (at most
// MaxRekorCacheEntries).
func (v *Verifier) RekorCacheEntries() int { return v.rekor.cacheLen() }

// Verify checks the signatures of the image at d under p. It never returns
// Exception (that is the caller's) and never an error: transient trouble is
// Result Unavailable with the cause in Message.
func (v *Verifier) Verify(ctx context.Context, d name.Digest, p *policy.Policy) Outcome {
	out := v.verify(ctx, d, p)
	out.Digest = d.DigestStr()
	out.VerifiedAt = v.now()
	if out.Message != "" {
		out.Message = fmt.Sprintf("%s%s: %s", d, policyName(p), out.Message)
	}
	return out
}

func (v *Verifier) verify(ctx context.Context, d name.Digest, p *policy.Policy) Outcome {
	if p == nil {
		return Outcome{Result: ResultDenied, Reason: ReasonNoPolicy, Message: "no trust policy given"}
	}
	if len(p.Authorities) == 0 {
		return Outcome{Result: ResultDenied, Reason: ReasonInvalidPolicy, Message: "the policy has no authorities; add a key, keyless or static authority"}
	}
	h, err := v1.NewHash(d.DigestStr())
	if err != nil || h.Algorithm != "sha256" {
		return Outcome{Result: ResultDenied, Reason: ReasonInvalidReference, Message: "only sha256 image digests can be verified"}
	}
	f := &fetched{digest: d, hash: h}
	if needsSignatures(p) {
		fetchCtx, budget := registry.WithBudget(ctx, v.maxBytes)
		f = v.fetch(fetchCtx, d, h)
		if out, over := overLimit(f, budget); over {
			return out
		}
		if needsLookup(p) {
			v.lookupEntries(ctx, p, f)
		}
	}
	results := checkAll(ctx, p, f)
	out := Outcome{Authorities: results}
	needed := max(p.Require.Needed(len(p.Authorities)), 1)
	out.Result, out.Reason, out.Message = decision(results, needed, f.counts())
	if out.Result != ResultVerified {
		return withRekorError(withFetchError(ctx, out, f), f)
	}
	out.Signers = signersOf(results)
	if p.Pullability.Enabled {
		return v.probe(ctx, d, p, out)
	}
	return out
}

// overLimit denies an image whose signature material exceeds what one
// verification reads, whatever part of it verified: which part was read
// before the budget ran out depends on timing, and the decision must not.
func overLimit(f *fetched, b *registry.Budget) (Outcome, bool) {
	if b.Exceeded() {
		return Outcome{Result: ResultDenied, Reason: ReasonSignatureLimit, Message: fmt.Sprintf(
			"signature material exceeds %d bytes, what imagegate reads per verification (%d read, then stopped); remove stale signatures and bundles from the registry", b.Limit(), b.Used())}, true
	}
	if err := f.err(); errors.Is(err, errSignatureLimit) {
		return Outcome{Result: ResultDenied, Reason: ReasonSignatureLimit, Message: err.Error()}, true
	}
	return Outcome{}, false
}

// withFetchError turns a denial into Unavailable when a signature listing
// failed transiently: the missing signatures might have verified. A
// verified outcome stands even then, because what verified is proven.
// Refused or missing credentials are named as such (RegistryVerdict).
func withFetchError(ctx context.Context, out Outcome, f *fetched) Outcome {
	err := f.err()
	if err == nil {
		return out
	}
	var hint string
	out.Result, out.Reason, hint = RegistryVerdict(ctx, err, ReasonSignatureUnreadable)
	if out.Reason == ReasonTagNotFound || out.Reason == ReasonManifestNotFound {
		// A signature artifact that went missing, not the image.
		out.Reason = ReasonSignatureUnreadable
	}
	switch {
	case out.Result == ResultUnavailable:
		out.Message = fmt.Sprintf("registry unavailable while reading signatures, retry later: %v", err)
	case out.Reason == ReasonSignatureUnreadable:
		out.Message = fmt.Sprintf("the registry refused the signature lookup: %v; check pull credentials and the signature artifacts", err)
	default:
		out.Message = withHint(fmt.Sprintf("the registry refused the signature lookup: %v", err), hint)
	}
	return out
}

// withRekorError turns a denial into Unavailable when a Rekor lookup failed
// transiently: the entry it would have found might have verified.
func withRekorError(out Outcome, f *fetched) Outcome {
	if f.rekorErr == nil || out.Result != ResultDenied || out.Reason == ReasonInvalidPolicy || out.Reason == ReasonStaticFail {
		return out
	}
	out.Result, out.Reason = ResultUnavailable, ReasonUnavailable
	out.Message = fmt.Sprintf("transparency log unavailable while looking up signatures' entries (tlog mode online), retry later: %v", f.rekorErr)
	return out
}

func needsSignatures(p *policy.Policy) bool {
	for _, a := range p.Authorities {
		if a.Static == nil {
			return true
		}
	}
	return false
}

// checkAll evaluates the authorities in parallel. Verification is local CPU
// work on signatures already fetched; ctx is passed to cosign, and a
// cancelled ctx makes the whole outcome Unavailable through the fetch.
func checkAll(ctx context.Context, p *policy.Policy, f *fetched) []AuthorityResult {
	results := make([]AuthorityResult, len(p.Authorities))
	var wg sync.WaitGroup
	for i, a := range p.Authorities {
		wg.Go(func() { results[i] = checkAuthority(ctx, a, p.TLog, f) })
	}
	wg.Wait()
	return results
}

func policyName(p *policy.Policy) string {
	if p == nil || p.Ref.Name == "" {
		return ""
	}
	return fmt.Sprintf(" (policy %s %s)", p.Ref.Kind, p.Ref)
}
