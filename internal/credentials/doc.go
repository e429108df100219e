// Package credentials turns what Flux and the kubelet read to reach a
// registry into a registry client for one selection or one Pod:
//
//   - for the gate, the ImageRepository an ImagePolicy names (secretRef,
//     serviceAccountName, certSecretRef, proxySecretRef, insecure, and
//     provider gcp, aws or azure with imagegate's own cloud identity
//     through Flux's auth library), read as image-reflector-controller
//     reads it (imagerepository.go, provider.go);
//   - for the webhook, the Pod's or pod template's imagePullSecrets and
//     its ServiceAccount's, as the kubelet reads them (pod.go).
//
// Every object is read by name through an uncached reader (the manager's
// API reader: get only, never list or watch), only from the namespace of
// the object that names it, and each time it is needed. What is built from
// them (parsed keychains, TLS transports, token caches) is kept in a
// bounded LRU keyed by the identity and version of the objects read
// (cache.go), so a reconcile or an admission that finds the same objects
// builds nothing. The key doubles as the verdict cache's scope
// (cache.Checker.Via), so that a verdict reached with one tenant's
// credentials never serves another.
//
// Credentials never appear in errors: messages name objects and keys.
// This package must not import the gate, the webhook or test fixtures.
package credentials
