// Package registry is imagegate's only door to container registries: it
// resolves tags to digests, probes whether a registry really serves an image
// (pullability), builds auth keychains from Kubernetes pull-secret payloads,
// and hands go-containerregistry options to the verifiers so that cosign's
// requests go through the same guards.
//
// Every request goes through one guarded transport (transport.go) that adds
// what go-containerregistry v0.22.1 lacks against a hostile or broken
// registry: a deadline per request that also bounds the body read, a cap on
// redirects, a size limit on manifest and referrers responses, a digest check
// of manifests fetched by digest, a refusal of plain HTTP unless allowed, and
// a request counter; and, for requests whose context carries a Budget
// (budget.go), a cap on the response bytes all of them receive together.
// go-containerregistry's own retries are switched off: callers decide
// about retrying with IsTransient, within their deadlines.
//
// Errors are classified once: Classify (classify.go) is the one function
// that says what any registry error means for a verdict (Unavailable,
// TagNotFound, ManifestNotFound, credentials rejected or missing, refused),
// for this package's calls and for cosign's calls made with RemoteOptions
// alike; internal/verify maps its answer to reason codes for every role.
// Errors wrap exported sentinels matched with errors.Is (errors.go); they
// name the reference, never credentials.
//
// This package must not import Kubernetes packages (client-go, apimachinery,
// controller-runtime) nor any other imagegate package: pull secrets arrive as
// the raw .dockerconfigjson bytes.
package registry
