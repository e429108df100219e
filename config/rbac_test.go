package config_test

import (
	"testing"

	"github.com/imagegate/imagegate/internal/testenv"
)

// TestServiceAccountPermissions creates the RBAC objects of config/default
// for real, binds nothing else, and asks the API server's RBAC authorizer,
// as each service account, what it may do.
func TestServiceAccountPermissions(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	createRBAC(t)
	cases := map[string][]testenv.Access{
		"imagegate-controller": {
			{Verb: "patch", Group: "imagegate.dev", Resource: "imagegates", Subresource: "status", Namespace: "flux-system", Allowed: true},
			{Verb: "watch", Group: "imagegate.dev", Resource: "imagegates", Allowed: true},
			{Verb: "create", Group: "imagegate.dev", Resource: "imageverifications", Allowed: true},
			{Verb: "update", Group: "imagegate.dev", Resource: "clustertrustpolicies", Subresource: "status", Allowed: true},
			{Verb: "list", Group: "image.toolkit.fluxcd.io", Resource: "imagepolicies", Allowed: true},
			{Verb: "watch", Group: "source.toolkit.fluxcd.io", Resource: "gitrepositories", Allowed: true},
			{Verb: "create", Group: "events.k8s.io", Resource: "events", Namespace: "flux-system", Allowed: true},
			{Verb: "update", Group: "coordination.k8s.io", Resource: "leases", Namespace: installNamespace, Allowed: true},
			{Verb: "update", Group: "coordination.k8s.io", Resource: "leases", Namespace: "kube-system"},
			{Verb: "delete", Resource: "secrets", Namespace: "flux-system"},
			{Verb: "create", Resource: "pods", Namespace: "flux-system"},
			{Verb: "delete", Group: "imagegate.dev", Resource: "imageverifications"},
			{Verb: "update", Group: "imagegate.dev", Resource: "imagegates", Namespace: "flux-system"},
		},
		"imagegate-webhook": {
			{Verb: "create", Group: "imagegate.dev", Resource: "imageverifications", Allowed: true},
			{Verb: "update", Group: "imagegate.dev", Resource: "imageverifications", Subresource: "status", Allowed: true},
			{Verb: "list", Group: "apps", Resource: "replicasets", Allowed: true},
			{Verb: "watch", Group: "batch", Resource: "cronjobs", Allowed: true},
			{Verb: "watch", Group: "imagegate.dev", Resource: "clustertrustpolicies", Allowed: true},
			{Verb: "get", Resource: "secrets", Namespace: "flux-system", Allowed: true},
			{Verb: "list", Resource: "secrets", Namespace: "flux-system"},
			{Verb: "update", Group: "imagegate.dev", Resource: "imagegates", Namespace: "flux-system"},
			{Verb: "delete", Group: "imagegate.dev", Resource: "imageverifications"},
			{Verb: "create", Resource: "pods", Namespace: "flux-system"},
			{Verb: "get", Group: "coordination.k8s.io", Resource: "leases", Namespace: installNamespace},
			// --cert-mode=self-managed: its own Secret and webhook
			// configuration, by name.
			{Verb: "create", Resource: "secrets", Namespace: installNamespace, Allowed: true},
			{Verb: "update", Resource: "secrets", Namespace: installNamespace, Name: "imagegate-webhook-tls", Allowed: true},
			{Verb: "watch", Resource: "secrets", Namespace: installNamespace, Name: "imagegate-webhook-tls", Allowed: true},
			{Verb: "update", Resource: "secrets", Namespace: installNamespace, Name: "imagegate-ca"},
			{Verb: "watch", Resource: "secrets", Namespace: installNamespace},
			{Verb: "create", Resource: "secrets", Namespace: "flux-system"},
			{Verb: "update", Group: "admissionregistration.k8s.io", Resource: "validatingwebhookconfigurations", Name: "imagegate", Allowed: true},
			{Verb: "watch", Group: "admissionregistration.k8s.io", Resource: "validatingwebhookconfigurations", Name: "imagegate", Allowed: true},
			{Verb: "update", Group: "admissionregistration.k8s.io", Resource: "validatingwebhookconfigurations", Name: "other"},
			{Verb: "list", Group: "admissionregistration.k8s.io", Resource: "validatingwebhookconfigurations"},
			{Verb: "update", Group: "admissionregistration.k8s.io", Resource: "mutatingwebhookconfigurations", Name: "imagegate"},
		},
	}
	for sa, accesses := range cases {
		cp.CheckAccess(ctx, t, "system:serviceaccount:"+installNamespace+":"+sa, accesses)
	}
}

// createRBAC creates the service accounts, roles and bindings of
// config/default for real (once; tests share them).
func createRBAC(t *testing.T) {
	t.Helper()
	ctx := t.Context()
	testenv.EnsureNamespace(ctx, t, cp.Client, installNamespace, nil)
	testenv.CreateRBAC(ctx, t, cp.Client, testenv.Kustomize(t, "config/default"))
}
