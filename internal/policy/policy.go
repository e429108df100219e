package policy

import (
	"crypto"
	"regexp"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
)

// Policy is a TrustPolicy or ClusterTrustPolicy compiled for verification:
// keys parsed, regular expressions compiled, secrets resolved. Verification
// reads only this form, never the API object.
type Policy struct {
	Ref         Ref
	Hash        string // "sha256:<hex>" of the canonical spec; see Hash
	Images      []Glob
	Authorities []Authority
	Require     Require
	TLog        TLogMode
	// RekorURL is the Rekor v1 API TLogOnline asks (DefaultRekorURL
	// unless the policy names one).
	RekorURL      string
	Pullability   Pullability
	RequireDigest bool
	Mode          Mode
	Exceptions    []Exception
}

// Ref names the API object a policy was compiled from.
type Ref struct {
	Kind      string // "TrustPolicy" or "ClusterTrustPolicy"
	Namespace string // empty for ClusterTrustPolicy
	Name      string
}

// String renders "namespace/name" or "name" for cluster policies.
func (r Ref) String() string {
	if r.Namespace == "" {
		return r.Name
	}
	return r.Namespace + "/" + r.Name
}

// Authority is one root of trust. Exactly one of Key, Keyless and Static is set.
type Authority struct {
	Name    string
	Key     *KeyAuthority
	Keyless *KeylessAuthority
	Static  *StaticAuthority
}

// KeyAuthority trusts signatures made with one public key.
type KeyAuthority struct {
	PublicKey crypto.PublicKey
	PEM       []byte
	// TLogRequired makes a signature count only with a Rekor entry that
	// verifies offline against TrustedRoot's Rekor keys (key.tlog
	// required); TrustedRoot is set exactly when it is.
	TLogRequired bool
	TrustedRoot  root.TrustedMaterial
}

// KeylessAuthority trusts Fulcio certificates chaining to TrustedRoot whose
// identity matches one of Identities.
type KeylessAuthority struct {
	Identities  []Identity
	TrustedRoot root.TrustedMaterial
	// PublicGood is set when the spec names no trusted root: TrustedRoot
	// is then PublicGood.Root, nil when none could be obtained.
	PublicGood *PublicGoodRoot
}

// Identity matches a certificate's OIDC issuer and subject. For each of the
// two, exactly one of the literal and the regular expression is set; the
// regular expressions are anchored (CompileAnchored). Extensions are the
// Fulcio extensions the certificate must carry: every set field must equal
// the certificate's value (Issuer is never set there).
type Identity struct {
	Issuer        string
	IssuerRegExp  *regexp.Regexp
	Subject       string
	SubjectRegExp *regexp.Regexp
	Extensions    certificate.Extensions
}

// StaticAuthority passes or fails without looking at the image.
type StaticAuthority struct {
	Pass bool
}

// RequireMode says how many authorities must verify.
type RequireMode string

// Require modes.
const (
	RequireAll       RequireMode = "all"
	RequireAny       RequireMode = "any"
	RequireThreshold RequireMode = "threshold"
)

// Require is the number of authorities that must verify.
type Require struct {
	Mode      RequireMode
	Threshold int // only for RequireThreshold, 1..len(Authorities)
}

// Needed returns how many of n authorities must verify.
func (r Require) Needed(n int) int {
	switch r.Mode {
	case RequireAny:
		return 1
	case RequireThreshold:
		return r.Threshold
	default:
		return n
	}
}

// TLogMode says how the transparency log is used.
type TLogMode string

// Transparency log modes.
const (
	TLogOffline TLogMode = "offline" // require the entry in the signature, verify it offline
	TLogOnline  TLogMode = "online"  // as offline; look up an entry the signature lacks in Rekor
	TLogIgnore  TLogMode = "ignore"  // do not require a log entry
)

// DefaultRekorURL is Sigstore's public-good Rekor, what TLogOnline asks
// when the policy names no other.
const DefaultRekorURL = "https://rekor.sigstore.dev"

// Pullability asks the registry to serve the image before it is approved.
type Pullability struct {
	Enabled   bool
	Platforms []v1.Platform
}

// Mode says whether a denial blocks or only warns.
type Mode string

// Modes.
const (
	ModeEnforce Mode = "enforce"
	ModeWarn    Mode = "warn"
)

// Exception admits matching images unverified until Expires.
type Exception struct {
	Glob    Glob
	Reason  string
	Expires time.Time // zero: never
}

// Active reports whether the exception still applies at now.
func (e Exception) Active(now time.Time) bool {
	return e.Expires.IsZero() || now.Before(e.Expires)
}
