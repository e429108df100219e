package cache

import "github.com/imagegate/imagegate/internal/verify"

// Classes of cached outcomes. Each has its own cap, so that denials,
// which anyone who may create a Pod can produce at will by naming digests
// nobody pushed, never push out verified digests: evicting those would
// make every replica verify them again against the registry.
const (
	ClassVerified Class = "verified"
	ClassDenied   Class = "denied"
)

// The caps of the checker's cache.
const (
	// MaxVerifiedEntries bounds the verified digests remembered: ~10,000
	// (digest, policy hash) pairs cover the images of a large cluster.
	MaxVerifiedEntries = DefaultMaxEntries
	// MaxDeniedEntries bounds the permanent denials remembered. A denial is
	// kept for DeniedTTL (1 minute by default) only to absorb retries of
	// the same bad image (a crash-looping controller re-creating its Pod);
	// 1,000 distinct denied digests a minute is far beyond that. Past the
	// cap the oldest denial goes, and a retry of it verifies again.
	MaxDeniedEntries = 1_000
)

// outcomeClass sorts outcomes by the cap that bounds them. Only Verified
// and Denied outcomes are ever stored (Checker.TTL is zero for others).
func outcomeClass(o verify.Outcome) Class {
	if o.Result == verify.ResultVerified {
		return ClassVerified
	}
	return ClassDenied
}

func outcomeCaps() map[Class]int {
	return map[Class]int{ClassVerified: MaxVerifiedEntries, ClassDenied: MaxDeniedEntries}
}
