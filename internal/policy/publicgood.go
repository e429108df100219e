package policy

import (
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
)

// PublicGoodRoot is Sigstore's public-good trusted root as imagegate last
// obtained it through TUF (internal/trustroot). A keyless authority whose
// spec names no trustedRoot verifies with it.
type PublicGoodRoot struct {
	// Root is nil when no root was ever obtained: no network and no
	// persisted copy. Keyless authorities relying on it are then
	// Unavailable, never Denied.
	Root root.TrustedMaterial
	// Digest is "sha256:<hex>" of the trusted_root.json Root was read
	// from; it enters the policy hash, so a new root invalidates earlier
	// verifications as a rotated Secret does.
	Digest string
	// RefreshedAt is when Root was last confirmed current by the TUF
	// repository; zero when never.
	RefreshedAt time.Time
	// Err is why the last refresh failed; nil after a successful one. With
	// Root set, Root is the last good one and is stale.
	Err error
}

// PublicGoodSource provides the current public-good root.
type PublicGoodSource interface {
	PublicGood() PublicGoodRoot
}

// CompileOption adds what Compile needs beyond the Secrets.
type CompileOption func(*compiler)

// WithPublicGood makes keyless authorities without a trustedRoot use the
// public-good root src provides; without it such authorities do not
// compile (air-gapped: name a trusted root).
func WithPublicGood(src PublicGoodSource) CompileOption {
	return func(c *compiler) { c.publicGood = src }
}

// PublicGood returns the public-good root the policy's keyless
// authorities use, nil when none uses it. All of a policy's authorities
// share one snapshot, taken when it was compiled.
func (p *Policy) PublicGood() *PublicGoodRoot {
	for _, a := range p.Authorities {
		if a.Keyless != nil && a.Keyless.PublicGood != nil {
			return a.Keyless.PublicGood
		}
	}
	return nil
}
