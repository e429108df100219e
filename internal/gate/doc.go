// Package gate is the ImageGate reconciler: for each ImagePolicy an
// ImageGate selects, it verifies the selected image under the matching
// trust policy and writes only verified images to Git, pinned as
// name:tag@digest, in one commit with trailers that let reviewers re-check.
// Unverified selections are withheld (the value in Git stays) and
// reported as Blocked.
//
// The reconciler orchestrates; verification lives in internal/cache and
// internal/verify, rewriting in internal/setters, Git in internal/gitrepo,
// the compiled trust policies in internal/trust (one set shared by every
// reconcile, policies.go). A run whose inputs and branch tips are those of
// its last run skips the clone (idle.go).
// It must not import the admission webhook.
package gate
