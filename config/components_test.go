package config_test

import (
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/imagegate/imagegate/internal/secrets"
)

// secretVerbs returns the verbs the controller's ClusterRole grants on
// core Secrets, over all its rules.
func secretVerbs(t *testing.T, dir string) []string {
	t.Helper()
	var verbs []string
	for _, m := range render(t, dir) {
		if m.obj.GetKind() != "ClusterRole" || m.obj.GetName() != "imagegate-controller" {
			continue
		}
		var r rbacv1.ClusterRole
		fromUnstructured(t, m, &r)
		for _, rule := range r.Rules {
			if slices.Contains(rule.APIGroups, "") && slices.Contains(rule.Resources, "secrets") {
				verbs = append(verbs, rule.Verbs...)
			}
		}
	}
	slices.Sort(verbs)
	return verbs
}

// controllerArgs returns the controller container's flags.
func controllerArgs(t *testing.T, dir string) map[string]string {
	t.Helper()
	for _, m := range render(t, dir) {
		if m.obj.GetKind() == "Deployment" && m.obj.GetName() == "imagegate-controller" {
			var d appsv1.Deployment
			fromUnstructured(t, m, &d)
			return argFlags(d.Spec.Template.Spec.Containers[0].Args)
		}
	}
	t.Fatalf("config/%s has no controller Deployment", dir)
	return nil
}

// TestControllerSecretsAccess: the installs grant the controller get on
// Secrets and nothing more; config/components/watch-secrets adds list and
// watch together with the flag that uses them, and nothing else.
func TestControllerSecretsAccess(t *testing.T) {
	t.Parallel()
	for _, dir := range []string{"default", "cert-manager"} {
		if got := secretVerbs(t, dir); !slices.Equal(got, []string{"get"}) {
			t.Errorf("config/%s: the controller may %v Secrets, want get only", dir, got)
		}
		if _, ok := controllerArgs(t, dir)["--watch-configs-label-selector"]; ok {
			t.Errorf("config/%s: the controller watches Secrets", dir)
		}
	}
	const dir = "testdata/watch-secrets"
	if got := secretVerbs(t, dir); !slices.Equal(got, []string{"get", "list", "watch"}) {
		t.Errorf("config/%s: the controller may %v Secrets, want get, list and watch", dir, got)
	}
	if got := controllerArgs(t, dir)["--watch-configs-label-selector"]; got != secrets.WatchLabel {
		t.Errorf("config/%s: --watch-configs-label-selector=%q, want %s", dir, got, secrets.WatchLabel)
	}
}

// TestNetworkPolicyPeers: the install's NetworkPolicy has one rule per
// port and no peers (any source); config/components/network-policy-peers
// gives the metrics port Prometheus's namespace, and an overlay's patch
// the webhook port its peers, as docs/install.md shows.
func TestNetworkPolicyPeers(t *testing.T) {
	t.Parallel()
	policy := func(dir string) *networkingv1.NetworkPolicy {
		for _, m := range render(t, dir) {
			if m.obj.GetKind() == "NetworkPolicy" {
				var p networkingv1.NetworkPolicy
				fromUnstructured(t, m, &p)
				return &p
			}
		}
		t.Fatalf("config/%s has no NetworkPolicy", dir)
		return nil
	}
	ports := func(p *networkingv1.NetworkPolicy) []int32 {
		var out []int32
		for _, r := range p.Spec.Ingress {
			if len(r.Ports) != 1 {
				t.Fatalf("rule %+v: want one port per rule", r)
			}
			out = append(out, r.Ports[0].Port.IntVal)
		}
		return out
	}
	base := policy("default")
	if got := ports(base); !slices.Equal(got, []int32{9443, 8080}) || len(base.Spec.Ingress[0].From)+len(base.Spec.Ingress[1].From) != 0 {
		t.Errorf("config/default: ingress %+v, want the webhook then the metrics port, from any source", base.Spec.Ingress)
	}
	peers := policy("testdata/network-policy-peers")
	if got := ports(peers); !slices.Equal(got, []int32{9443, 8080}) {
		t.Fatalf("network-policy-peers: ports %v", got)
	}
	wh, metrics := peers.Spec.Ingress[0].From, peers.Spec.Ingress[1].From
	if len(wh) != 1 || wh[0].IPBlock == nil || wh[0].IPBlock.CIDR != "192.0.2.0/24" {
		t.Errorf("webhook peers %+v, want the overlay's ipBlock", wh)
	}
	if len(metrics) != 1 || metrics[0].NamespaceSelector == nil ||
		metrics[0].NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] != "monitoring" {
		t.Errorf("metrics peers %+v, want the namespace monitoring", metrics)
	}
}
