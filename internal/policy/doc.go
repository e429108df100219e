// Package policy owns imagegate's trust policies in their compiled form:
// matching a normalised image reference to the most specific policy glob,
// compiling TrustPolicy and ClusterTrustPolicy objects (keys parsed,
// regular expressions compiled, secrets resolved; keyless identities in
// identity.go: anchored regexps, Fulcio extensions) and hashing a policy's
// spec so that a verification records the exact rules it was made under.
// A keyless authority without a trusted root of its own takes a snapshot
// of Sigstore's public-good root from a PublicGoodSource at compile time
// (publicgood.go; internal/trustroot provides it).
//
// Verification (internal/verify) reads only the compiled Policy; this
// package must not import verify, registry, cache or controller code.
package policy
