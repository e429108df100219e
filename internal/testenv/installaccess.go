package testenv

// InstallAccess is what each service account of an imagegate install into
// namespace ns may and may not do: the questions the install tests
// (config/, charts/) ask the API server's authorizer as each account, with
// the expected answers. Keys are the service account names.
func InstallAccess(ns string) map[string][]Access {
	nobody := Access{Verb: "*", Group: "*", Resource: "*"}
	return map[string][]Access{
		"imagegate-controller": {
			{Verb: "patch", Group: "imagegate.dev", Resource: "imagegates", Subresource: "status", Namespace: "flux-system", Allowed: true},
			{Verb: "watch", Group: "imagegate.dev", Resource: "imagegates", Allowed: true},
			{Verb: "create", Group: "imagegate.dev", Resource: "imageverifications", Allowed: true},
			{Verb: "update", Group: "imagegate.dev", Resource: "imageverifications", Allowed: true},
			{Verb: "update", Group: "imagegate.dev", Resource: "clustertrustpolicies", Subresource: "status", Allowed: true},
			{Verb: "list", Group: "image.toolkit.fluxcd.io", Resource: "imagepolicies", Allowed: true},
			{Verb: "watch", Group: "source.toolkit.fluxcd.io", Resource: "gitrepositories", Allowed: true},
			// Registry credentials of each selection, read by name.
			{Verb: "get", Group: "image.toolkit.fluxcd.io", Resource: "imagerepositories", Namespace: "flux-system", Name: "podinfo", Allowed: true},
			{Verb: "list", Group: "image.toolkit.fluxcd.io", Resource: "imagerepositories"},
			{Verb: "get", Resource: "serviceaccounts", Namespace: "flux-system", Name: "image-reflector", Allowed: true},
			{Verb: "list", Resource: "serviceaccounts"},
			{Verb: "create", Resource: "events", Namespace: "flux-system", Allowed: true},
			{Verb: "create", Group: "events.k8s.io", Resource: "events", Namespace: "flux-system", Allowed: true},
			{Verb: "update", Group: "coordination.k8s.io", Resource: "leases", Namespace: ns, Allowed: true},
			{Verb: "update", Group: "coordination.k8s.io", Resource: "leases", Namespace: "kube-system"},
			// Secrets: read one by name (Git credentials, signing and policy
			// keys), never listed, watched or cached.
			{Verb: "get", Resource: "secrets", Namespace: "flux-system", Name: "git-credentials", Allowed: true},
			{Verb: "list", Resource: "secrets", Namespace: "flux-system"},
			{Verb: "watch", Resource: "secrets", Namespace: "flux-system"},
			{Verb: "list", Resource: "secrets"},
			{Verb: "watch", Resource: "secrets"},
			// The record collector deletes ImageVerifications (internal/recordgc).
			{Verb: "delete", Group: "imagegate.dev", Resource: "imageverifications", Allowed: true},
			{Verb: "delete", Resource: "secrets", Namespace: "flux-system"},
			// The persisted TUF state of the public-good root: create in the
			// install namespace only, update of that one Secret.
			{Verb: "create", Resource: "secrets", Namespace: ns, Allowed: true},
			{Verb: "create", Resource: "secrets", Namespace: "flux-system"},
			{Verb: "update", Resource: "secrets", Namespace: ns, Name: "imagegate-sigstore-tuf", Allowed: true},
			{Verb: "update", Resource: "secrets", Namespace: ns, Name: "imagegate-webhook-tls"},
			{Verb: "update", Resource: "secrets", Namespace: "flux-system", Name: "imagegate-sigstore-tuf"},
			{Verb: "delete", Resource: "secrets", Namespace: ns, Name: "imagegate-sigstore-tuf"},
			{Verb: "create", Resource: "pods", Namespace: "flux-system"},
			{Verb: "update", Group: "imagegate.dev", Resource: "imagegates", Namespace: "flux-system"},
			{Verb: "update", Group: "admissionregistration.k8s.io", Resource: "validatingwebhookconfigurations", Name: "imagegate"},
			nobody,
		},
		"imagegate-webhook": {
			{Verb: "create", Group: "imagegate.dev", Resource: "imageverifications", Allowed: true},
			{Verb: "update", Group: "imagegate.dev", Resource: "imageverifications", Subresource: "status", Allowed: true},
			{Verb: "list", Group: "apps", Resource: "replicasets", Allowed: true},
			{Verb: "watch", Group: "batch", Resource: "cronjobs", Allowed: true},
			{Verb: "watch", Group: "imagegate.dev", Resource: "clustertrustpolicies", Allowed: true},
			{Verb: "get", Resource: "secrets", Namespace: "flux-system", Allowed: true},
			{Verb: "list", Resource: "secrets", Namespace: "flux-system"},
			// Pull credentials of the pod spec it verifies, read by name.
			{Verb: "get", Resource: "serviceaccounts", Namespace: "apps", Name: "default", Allowed: true},
			{Verb: "list", Resource: "serviceaccounts", Namespace: "apps"},
			{Verb: "watch", Resource: "serviceaccounts"},
			{Verb: "get", Group: "image.toolkit.fluxcd.io", Resource: "imagerepositories"},
			{Verb: "update", Group: "imagegate.dev", Resource: "imagegates", Namespace: "flux-system"},
			{Verb: "delete", Group: "imagegate.dev", Resource: "imageverifications"},
			{Verb: "create", Resource: "pods", Namespace: "flux-system"},
			{Verb: "get", Group: "coordination.k8s.io", Resource: "leases", Namespace: ns},
			// Self-managed certificates: create the TLS Secret once, then read,
			// watch and rotate that one Secret, in the release namespace only.
			{Verb: "create", Resource: "secrets", Namespace: ns, Allowed: true},
			{Verb: "get", Resource: "secrets", Namespace: ns, Name: "imagegate-webhook-tls", Allowed: true},
			{Verb: "watch", Resource: "secrets", Namespace: ns, Name: "imagegate-webhook-tls", Allowed: true},
			{Verb: "update", Resource: "secrets", Namespace: ns, Name: "imagegate-webhook-tls", Allowed: true},
			{Verb: "update", Resource: "secrets", Namespace: ns, Name: "other"},
			{Verb: "patch", Resource: "secrets", Namespace: ns, Name: "other"},
			{Verb: "list", Resource: "secrets", Namespace: ns},
			{Verb: "delete", Resource: "secrets", Namespace: ns, Name: "imagegate-webhook-tls"},
			{Verb: "create", Resource: "secrets", Namespace: "flux-system"},
			{Verb: "update", Resource: "secrets", Namespace: "flux-system", Name: "imagegate-webhook-tls"},
			// The persisted TUF state of the public-good root, that one Secret.
			{Verb: "get", Resource: "secrets", Namespace: ns, Name: "imagegate-sigstore-tuf", Allowed: true},
			{Verb: "update", Resource: "secrets", Namespace: ns, Name: "imagegate-sigstore-tuf", Allowed: true},
			{Verb: "update", Resource: "secrets", Namespace: "flux-system", Name: "imagegate-sigstore-tuf"},
			// ... and keep the caBundle of its own configuration current.
			{Verb: "get", Group: "admissionregistration.k8s.io", Resource: "validatingwebhookconfigurations", Name: "imagegate", Allowed: true},
			{Verb: "update", Group: "admissionregistration.k8s.io", Resource: "validatingwebhookconfigurations", Name: "imagegate", Allowed: true},
			{Verb: "watch", Group: "admissionregistration.k8s.io", Resource: "validatingwebhookconfigurations", Name: "imagegate", Allowed: true},
			{Verb: "update", Group: "admissionregistration.k8s.io", Resource: "validatingwebhookconfigurations", Name: "other"},
			{Verb: "patch", Group: "admissionregistration.k8s.io", Resource: "validatingwebhookconfigurations", Name: "imagegate"},
			{Verb: "list", Group: "admissionregistration.k8s.io", Resource: "validatingwebhookconfigurations"},
			{Verb: "create", Group: "admissionregistration.k8s.io", Resource: "validatingwebhookconfigurations"},
			{Verb: "delete", Group: "admissionregistration.k8s.io", Resource: "validatingwebhookconfigurations", Name: "imagegate"},
			{Verb: "update", Group: "admissionregistration.k8s.io", Resource: "mutatingwebhookconfigurations", Name: "imagegate"},
			nobody,
		},
	}
}
