// Package config holds imagegate's install manifests (kustomize layout:
// crd, rbac, manager, webhook, samples, default) and, in its tests, the
// checks that keep them honest: every object is accepted by a real API
// server, the service accounts hold the permissions the binaries need and
// no more, and the ValidatingWebhookConfiguration matches what
// internal/admission builds. It has no Go API; nothing may import it.
package config
