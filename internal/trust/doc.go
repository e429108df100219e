// Package trust reconciles the status of TrustPolicy and
// ClusterTrustPolicy objects: it compiles each policy as verification
// would (keys parsed, regular expressions compiled, Secrets read) and
// reports Ready with the reason, and the policy hash that verification
// records carry. Policies are compiled when they change and every resync
// period, reading their Secrets by name each time (reconciler.go); a
// watch of labelled Secrets is optional (setup.go, secrets.go). Policies
// relying on Sigstore's public-good root also report TrustRootStale, from
// the root snapshot they were compiled with (internal/trustroot).
//
// It also owns the compiled form the gate and the webhook decide with:
// Store (store.go, store_watch.go) keeps one policy.Set of every policy,
// reloaded from informer events and every resync period, shared by all
// reconciles and requests. It must not import the gate or the webhook.
package trust
