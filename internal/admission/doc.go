// Package admission is imagegate's validating admission webhook, the
// in-cluster backstop behind the gate: it admits a Pod or workload only if
// every image its pod spec pulls (containers, init and ephemeral
// containers, image volumes; review.go lists the fields) is exempt,
// unchanged from the old object, held by the object's controller's
// template, recorded as verified by an ImageVerification, or verified now.
// It never mutates.
//
// It owns: decoding admission reviews (only the fields a decision needs,
// in one pass: decode*.go over the scanner of jsonscan.go and jsonskip.go),
// the decision chain (chain.go and the step_*.go files, cert-manager
// style: each step a small function over the decoded request returning a
// verdict or "next", each table-tested without Kubernetes), denial messages, the JSON audit log, Prometheus
// metrics, the guard that keeps ImageVerification writes to imagegate's own
// identities, the compiled policy set swapped on policy changes, the
// owner index child approval reads (owners.go, owner_index.go: UIDs and
// image keys, not objects), the informer cache options it needs, and the
// ValidatingWebhookConfiguration it expects (config.go).
//
// Verification, caching and records are internal/verify, internal/cache
// and internal/records; this package only calls them through the
// interfaces in chain.go. It must not import Git code (gitrepo, setters,
// gate) nor test fixtures.
package admission
