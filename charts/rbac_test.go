package charts_test

import (
	"slices"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/imagegate/imagegate/internal/testenv"
)

// TestServiceAccountPermissions creates the default render's service
// accounts, roles and bindings for real in a namespace of its own, binds
// nothing else, and asks the API server's RBAC authorizer, as each service
// account, what it may do. The webhook's self-managed certificates need
// its own Secret and ValidatingWebhookConfiguration, read and updated
// (internal/certs never patches), and nothing more.
func TestServiceAccountPermissions(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	const ns = "chart-rbac"
	testenv.EnsureNamespace(ctx, t, cp.Client, ns, nil)
	objs := render(t, ns)
	testenv.CreateRBAC(ctx, t, cp.Client, objs)
	k := objs.kinds()
	if n := k["ServiceAccount"] + k["Role"] + k["RoleBinding"] + k["ClusterRole"] + k["ClusterRoleBinding"]; n != 12 {
		t.Fatalf("the default render holds %d service accounts, roles and bindings, want 12", n)
	}
	nobody := testenv.Access{Verb: "*", Group: "*", Resource: "*"}
	cp.CheckAccess(ctx, t, "system:serviceaccount:"+ns+":imagegate-controller", []testenv.Access{
		{Verb: "patch", Group: "imagegate.dev", Resource: "imagegates", Subresource: "status", Namespace: "flux-system", Allowed: true},
		{Verb: "watch", Group: "imagegate.dev", Resource: "imagegates", Allowed: true},
		{Verb: "create", Group: "imagegate.dev", Resource: "imageverifications", Allowed: true},
		{Verb: "update", Group: "imagegate.dev", Resource: "imageverifications", Allowed: true},
		{Verb: "update", Group: "imagegate.dev", Resource: "clustertrustpolicies", Subresource: "status", Allowed: true},
		{Verb: "list", Group: "image.toolkit.fluxcd.io", Resource: "imagepolicies", Allowed: true},
		{Verb: "watch", Group: "source.toolkit.fluxcd.io", Resource: "gitrepositories", Allowed: true},
		{Verb: "create", Resource: "events", Namespace: "flux-system", Allowed: true},
		{Verb: "create", Group: "events.k8s.io", Resource: "events", Namespace: "flux-system", Allowed: true},
		{Verb: "update", Group: "coordination.k8s.io", Resource: "leases", Namespace: ns, Allowed: true},
		{Verb: "update", Group: "coordination.k8s.io", Resource: "leases", Namespace: "kube-system"},
		{Verb: "delete", Resource: "secrets", Namespace: "flux-system"},
		{Verb: "create", Resource: "secrets", Namespace: ns},
		{Verb: "create", Resource: "pods", Namespace: "flux-system"},
		{Verb: "delete", Group: "imagegate.dev", Resource: "imageverifications"},
		{Verb: "update", Group: "imagegate.dev", Resource: "imagegates", Namespace: "flux-system"},
		{Verb: "update", Group: "admissionregistration.k8s.io", Resource: "validatingwebhookconfigurations", Name: "imagegate"},
		nobody,
	})
	cp.CheckAccess(ctx, t, "system:serviceaccount:"+ns+":imagegate-webhook", []testenv.Access{
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
	})
}

// TestNoWildcardRules reads every rule of every values case: no verb,
// resource, API group or resource name may be "*".
func TestNoWildcardRules(t *testing.T) {
	t.Parallel()
	for _, c := range valuesCases {
		objs := render(t, "chart-wildcards", c.files()...)
		for _, kind := range []string{"Role", "ClusterRole"} {
			for _, u := range objs.ofKind(kind) {
				var r rbacv1.ClusterRole // a Role's fields are a subset
				fromUnstructured(t, u, &r)
				for _, rule := range r.Rules {
					for _, field := range [][]string{rule.Verbs, rule.Resources, rule.APIGroups, rule.ResourceNames, rule.NonResourceURLs} {
						if slices.Contains(field, "*") {
							t.Errorf("%s: %s %s has a wildcard rule %+v", c.name, kind, u.GetName(), rule)
						}
					}
				}
			}
		}
	}
}
