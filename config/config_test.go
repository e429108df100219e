package config_test

import (
	"maps"
	"testing"

	"github.com/imagegate/imagegate/internal/testenv"
)

// installNamespace is where config/default installs imagegate.
const installNamespace = "imagegate-system"

var cp *testenv.ControlPlane

func TestMain(m *testing.M) { testenv.RunMain(m, &cp, testenv.WithThirdPartyCRDs) }

// TestManifestsAcceptedByAPIServer sends every object of each install to
// the API server as a server-side dry run with strict field validation:
// schema, CRD validation (OpenAPI and CEL) and built-in admission all run,
// nothing is stored. The counts catch an object silently dropped.
func TestManifestsAcceptedByAPIServer(t *testing.T) {
	t.Parallel()
	base := map[string]int{
		"CustomResourceDefinition": 4, "Namespace": 1, "ServiceAccount": 2,
		// Roles: leader election, the persisted TUF state (sigstore_tuf_role.yaml).
		"ClusterRole": 2, "ClusterRoleBinding": 2, "Role": 2, "RoleBinding": 2,
		"Deployment": 2, "Service": 1, "PodDisruptionBudget": 1, "NetworkPolicy": 1,
		"ValidatingWebhookConfiguration": 1,
	}
	with := func(extra map[string]int) map[string]int {
		out := maps.Clone(base)
		for k, v := range extra {
			out[k] += v
		}
		return out
	}
	for dir, want := range map[string]map[string]int{
		// Self-managed certificates: a Role and a ClusterRole, bound.
		"default":      with(map[string]int{"ClusterRole": 1, "ClusterRoleBinding": 1, "Role": 1, "RoleBinding": 1}),
		"cert-manager": with(map[string]int{"Issuer": 2, "Certificate": 2}),
		"monitoring":   {"PodMonitor": 1, "PrometheusRule": 1, "ConfigMap": 1},
		"samples":      {"ClusterTrustPolicy": 1, "TrustPolicy": 1, "ImageGate": 1},
		// config/default with a component; the same objects.
		"testdata/network-policy-peers": with(map[string]int{"ClusterRole": 1, "ClusterRoleBinding": 1, "Role": 1, "RoleBinding": 1}),
		"testdata/watch-secrets":        with(map[string]int{"ClusterRole": 1, "ClusterRoleBinding": 1, "Role": 1, "RoleBinding": 1}),
		"testdata/other-namespace":      with(map[string]int{"ClusterRole": 1, "ClusterRoleBinding": 1, "Role": 1, "RoleBinding": 1}),
		// Into Flux's namespace: the same objects but the Namespace and
		// the CRDs (config/crd, applied before the policies).
		"flux-system": with(map[string]int{"Namespace": -1, "CustomResourceDefinition": -4, "ClusterRole": 1, "ClusterRoleBinding": 1, "Role": 1, "RoleBinding": 1}),
	} {
		t.Run(dir, func(t *testing.T) {
			t.Parallel()
			checkDryRun(t, dir, want)
		})
	}
}

func checkDryRun(t *testing.T, dir string, want map[string]int) {
	ctx := t.Context()
	all := render(t, dir)
	kinds := map[string]int{}
	for _, m := range all {
		kinds[m.obj.GetKind()]++
		if ns := m.obj.GetNamespace(); ns != "" {
			testenv.EnsureNamespace(ctx, t, cp.Client, ns, nil)
		}
	}
	for _, m := range all {
		if err := testenv.DryRunApply(ctx, cp.Client, m.obj); err != nil {
			t.Errorf("%s: the API server refused it: %v", m, err)
		}
	}
	for kind, n := range want {
		if kinds[kind] != n {
			t.Errorf("config/%s holds %d %s, want %d", dir, kinds[kind], kind, n)
		}
	}
	if len(all) != sum(want) {
		t.Errorf("config/%s holds %d objects (%v), want %d", dir, len(all), kinds, sum(want))
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
