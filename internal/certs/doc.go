// Package certs keeps the webhook's serving certificate when imagegate
// manages it itself (--cert-mode=self-managed): a CA and a serving
// certificate in one Secret of the webhook's namespace, the pair written to
// the directory the webhook server reads (it reloads on change), and the
// CA bundle injected into the webhook's ValidatingWebhookConfiguration.
//
// Every webhook replica runs the same loop. The Secret is the one source of
// truth: whoever creates or renews it first wins (create-if-absent, updates
// with optimistic concurrency), the others read the winner's result. A CA
// being replaced stays in the bundle until it expires, so the API server
// keeps trusting certificates the old CA signed while replicas catch up.
//
// It must not import admission or gate code.
package certs
