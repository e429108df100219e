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
	if n := k["ServiceAccount"] + k["Role"] + k["RoleBinding"] + k["ClusterRole"] + k["ClusterRoleBinding"]; n != 14 {
		t.Fatalf("the default render holds %d service accounts, roles and bindings, want 14", n)
	}
	for sa, accesses := range testenv.InstallAccess(ns) {
		cp.CheckAccess(ctx, t, "system:serviceaccount:"+ns+":"+sa, accesses)
	}
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
