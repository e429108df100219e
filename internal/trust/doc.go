// Package trust reconciles the status of TrustPolicy and
// ClusterTrustPolicy objects: it compiles each policy as verification
// would (keys parsed, regular expressions compiled, Secrets read) and
// reports Ready with the reason, and the policy hash that verification
// records carry. It must not import the gate or the webhook.
package trust
