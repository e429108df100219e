// Package clusterpolicy owns reading the cluster's trust policies: it
// lists TrustPolicies and ClusterTrustPolicies through a controller-runtime
// reader and compiles them (internal/policy), keeping the ones that fail
// to compile as broken policies that still claim their images, as the
// webhook and the gate do. It serves the webhook's policy store and
// imagegate audit --kubeconfig; it must not import the webhook, the gate,
// registry or verification packages.
package clusterpolicy
