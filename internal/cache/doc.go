// Package cache coalesces and remembers verifications. Concurrent requests
// for one key share one call (singleflight); results are kept for as long
// as the caller's TTL function says, so permanent denials can be kept
// briefly, verified results until they expire, and transient failures not
// at all. Keys are (digest, policy hash), never tags.
//
// The package knows nothing of registries, signatures or Kubernetes; the
// shared store of verified digests across replicas is ImageVerification,
// kept by the callers.
package cache
