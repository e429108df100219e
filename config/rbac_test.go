package config_test

import (
	"context"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/imagegate/imagegate/internal/testenv"
)

// access is one question to the authorizer.
type access struct {
	verb, group, resource, subresource, namespace, name string
	allowed                                             bool
}

// TestServiceAccountPermissions creates the RBAC objects of config/default
// for real, binds nothing else, and asks the API server's RBAC authorizer,
// as each service account, what it may do.
func TestServiceAccountPermissions(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	createRBAC(t)
	cases := map[string][]access{
		"imagegate-controller": {
			{verb: "patch", group: "imagegate.dev", resource: "imagegates", subresource: "status", namespace: "flux-system", allowed: true},
			{verb: "watch", group: "imagegate.dev", resource: "imagegates", allowed: true},
			{verb: "create", group: "imagegate.dev", resource: "imageverifications", allowed: true},
			{verb: "update", group: "imagegate.dev", resource: "clustertrustpolicies", subresource: "status", allowed: true},
			{verb: "list", group: "image.toolkit.fluxcd.io", resource: "imagepolicies", allowed: true},
			{verb: "watch", group: "source.toolkit.fluxcd.io", resource: "gitrepositories", allowed: true},
			{verb: "create", group: "events.k8s.io", resource: "events", namespace: "flux-system", allowed: true},
			{verb: "update", group: "coordination.k8s.io", resource: "leases", namespace: installNamespace, allowed: true},
			{verb: "update", group: "coordination.k8s.io", resource: "leases", namespace: "kube-system"},
			{verb: "delete", resource: "secrets", namespace: "flux-system"},
			{verb: "create", resource: "pods", namespace: "flux-system"},
			{verb: "delete", group: "imagegate.dev", resource: "imageverifications"},
			{verb: "update", group: "imagegate.dev", resource: "imagegates", namespace: "flux-system"},
		},
		"imagegate-webhook": {
			{verb: "create", group: "imagegate.dev", resource: "imageverifications", allowed: true},
			{verb: "update", group: "imagegate.dev", resource: "imageverifications", subresource: "status", allowed: true},
			{verb: "list", group: "apps", resource: "replicasets", allowed: true},
			{verb: "watch", group: "batch", resource: "cronjobs", allowed: true},
			{verb: "watch", group: "imagegate.dev", resource: "clustertrustpolicies", allowed: true},
			{verb: "get", resource: "secrets", namespace: "flux-system", allowed: true},
			{verb: "list", resource: "secrets", namespace: "flux-system"},
			{verb: "update", group: "imagegate.dev", resource: "imagegates", namespace: "flux-system"},
			{verb: "delete", group: "imagegate.dev", resource: "imageverifications"},
			{verb: "create", resource: "pods", namespace: "flux-system"},
			{verb: "get", group: "coordination.k8s.io", resource: "leases", namespace: installNamespace},
			// --cert-mode=self-managed: its own Secret and webhook
			// configuration, by name.
			{verb: "create", resource: "secrets", namespace: installNamespace, allowed: true},
			{verb: "update", resource: "secrets", namespace: installNamespace, name: "imagegate-webhook-tls", allowed: true},
			{verb: "watch", resource: "secrets", namespace: installNamespace, name: "imagegate-webhook-tls", allowed: true},
			{verb: "update", resource: "secrets", namespace: installNamespace, name: "imagegate-ca"},
			{verb: "watch", resource: "secrets", namespace: installNamespace},
			{verb: "create", resource: "secrets", namespace: "flux-system"},
			{verb: "update", group: "admissionregistration.k8s.io", resource: "validatingwebhookconfigurations", name: "imagegate", allowed: true},
			{verb: "watch", group: "admissionregistration.k8s.io", resource: "validatingwebhookconfigurations", name: "imagegate", allowed: true},
			{verb: "update", group: "admissionregistration.k8s.io", resource: "validatingwebhookconfigurations", name: "other"},
			{verb: "list", group: "admissionregistration.k8s.io", resource: "validatingwebhookconfigurations"},
			{verb: "update", group: "admissionregistration.k8s.io", resource: "mutatingwebhookconfigurations", name: "imagegate"},
		},
	}
	for sa, accesses := range cases {
		c := impersonate(t, "system:serviceaccount:"+installNamespace+":"+sa)
		for _, a := range accesses {
			got := allowed(ctx, t, c, a)
			if got != a.allowed {
				t.Errorf("%s may %s %s %s/%s %q in %q: %v, want %v", sa, a.verb, a.group, a.resource, a.subresource, a.name, a.namespace, got, a.allowed)
			}
		}
	}
}

// createRBAC creates the service accounts, roles and bindings of
// config/default for real (once; tests share them).
func createRBAC(t *testing.T) {
	t.Helper()
	ctx := t.Context()
	ensureNamespace(ctx, t, installNamespace)
	testenv.CreateRBAC(ctx, t, cp.Client, testenv.Kustomize(t, "config/default"))
}

// impersonate returns a client that acts as user, with no groups beyond
// system:authenticated.
func impersonate(t *testing.T, user string) client.Client {
	t.Helper()
	cfg := rest.CopyConfig(cp.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	c, err := client.New(cfg, client.Options{Scheme: cp.Scheme})
	if err != nil {
		t.Fatalf("client impersonating %s: %v", user, err)
	}
	return c
}

// allowed asks the authorizer with a SelfSubjectAccessReview.
func allowed(ctx context.Context, t *testing.T, c client.Client, a access) bool {
	t.Helper()
	r := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Verb: a.verb, Group: a.group, Resource: a.resource, Subresource: a.subresource, Namespace: a.namespace, Name: a.name,
		},
	}}
	if err := c.Create(ctx, r); err != nil {
		t.Fatalf("SelfSubjectAccessReview %+v: %v", a, err)
	}
	return r.Status.Allowed
}
