// Package verify decides whether an image digest is trusted under a compiled
// trust policy: it finds the image's cosign signatures in both places cosign
// puts them (legacy `sha256-<hex>.sig` tags written by cosign 2, Sigstore
// bundles attached as OCI referrers by cosign 3), verifies them against each
// authority of the policy (public key, keyless identity, static), applies the
// policy's require rule (all, any, threshold), optionally probes that the
// registry serves the image, and returns a typed Outcome with reason codes.
//
// Verify never returns an error: permanent failures are Denied with a reason,
// transient registry trouble is Unavailable so that callers retry instead of
// caching a denial.
// Registry errors become a result and a reason in one place,
// RegistryVerdict (registry_failure.go), from registry.Classify's answer;
// the callers' orchestration (resolving tags) uses it too.
//
// The package owns all reason codes (reasons.go), including the ones only the
// callers' orchestration produces, so that they live in one file.
//
// Transparency log modes and the Rekor lookups of mode online are in
// tlog.go and rekor.go; Rekor is the one server besides the registry the
// package talks to, and only in that mode.
//
// It reads only policy.Policy (never an API object) and reaches the registry
// only through the Registry interface. It must not import Kubernetes
// packages, the cache, the gate, the admission webhook or test fixtures.
package verify
