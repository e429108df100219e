package charts_test

import (
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/imagegate/imagegate/internal/testenv"
)

// valuesCase is one install: a values file of testdata/values (none for
// the defaults) and how many objects of each kind it must render, so that
// an object silently dropped or added fails.
type valuesCase struct {
	name  string
	file  string
	kinds map[string]int
}

// withKinds returns base with the given counts changed; 0 removes a kind.
func withKinds(base map[string]int, changes map[string]int) map[string]int {
	out := maps.Clone(base)
	for k, n := range changes {
		if n == 0 {
			delete(out, k)
			continue
		}
		out[k] = n
	}
	return out
}

// defaultKinds is the default install: config/default's objects without
// the Namespace (helm --create-namespace makes it). Every case but the air-
// gapped one has the Role and RoleBinding of the persisted TUF state.
var defaultKinds = map[string]int{
	"CustomResourceDefinition": 4, "ServiceAccount": 2,
	"ClusterRole": 3, "ClusterRoleBinding": 3, "Role": 3, "RoleBinding": 3,
	"Deployment": 2, "Service": 1, "PodDisruptionBudget": 1, "NetworkPolicy": 1,
	"ValidatingWebhookConfiguration": 1,
}

var valuesCases = []valuesCase{
	{name: "defaults", kinds: defaultKinds},
	// cert-manager writes the Secret and fills the CA bundle: none of the
	// webhook's certificate roles; a self-signed Issuer, a CA Certificate,
	// a CA Issuer and the serving Certificate instead.
	{name: "cert-manager", file: "cert-manager.yaml", kinds: withKinds(defaultKinds, map[string]int{
		"ClusterRole": 2, "ClusterRoleBinding": 2, "Role": 2, "RoleBinding": 2, "Issuer": 2, "Certificate": 2,
	})},
	{name: "cert-manager with issuerRef", file: "cert-manager-issuer.yaml", kinds: withKinds(defaultKinds, map[string]int{
		"ClusterRole": 2, "ClusterRoleBinding": 2, "Role": 2, "RoleBinding": 2, "Certificate": 1,
	})},
	{name: "controller off", file: "controller-off.yaml", kinds: withKinds(defaultKinds, map[string]int{
		"ServiceAccount": 1, "ClusterRole": 2, "ClusterRoleBinding": 2, "Role": 2, "RoleBinding": 2, "Deployment": 1,
	})},
	{name: "webhook off", file: "webhook-off.yaml", kinds: withKinds(defaultKinds, map[string]int{
		"ServiceAccount": 1, "ClusterRole": 1, "ClusterRoleBinding": 1, "Role": 2, "RoleBinding": 2, "Deployment": 1,
		"Service": 0, "PodDisruptionBudget": 0, "ValidatingWebhookConfiguration": 0,
	})},
	{name: "pods only, failing open", file: "pods-only-ignore.yaml", kinds: defaultKinds},
	// The metrics Service is the second Service.
	{name: "monitoring", file: "monitoring.yaml", kinds: withKinds(defaultKinds, map[string]int{
		"Service": 2, "ServiceMonitor": 1, "PrometheusRule": 1, "ConfigMap": 1,
	})},
	{name: "every value set", file: "everything.yaml", kinds: withKinds(defaultKinds, map[string]int{"NetworkPolicy": 0})},
	{name: "network policy peers", file: "network-policy-peers.yaml", kinds: defaultKinds},
	{name: "watch secrets", file: "watch-secrets.yaml", kinds: defaultKinds},
	// No public-good root: no TUF Secret, no Role for it.
	{name: "air-gapped", file: "air-gapped.yaml", kinds: withKinds(defaultKinds, map[string]int{"Role": 2, "RoleBinding": 2})},
}

// namespace is the case's own release namespace, named after it.
func (c valuesCase) namespace() string {
	return "chart-" + strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return unicode.ToLower(r)
		}
		return '-'
	}, strings.ReplaceAll(c.name, ",", ""))
}

// files returns the case's values files as helm arguments.
func (c valuesCase) files() []string {
	if c.file == "" {
		return nil
	}
	return []string{filepath.Join("testdata", "values", c.file)}
}

// TestRenderedObjectsAcceptedByAPIServer renders the chart for each values
// case into a namespace of the case's own and sends every object to the
// API server as a server-side dry run: schema, CRD validation (OpenAPI and
// CEL, cert-manager's and prometheus-operator's too) and built-in
// admission all run, nothing is stored.
func TestRenderedObjectsAcceptedByAPIServer(t *testing.T) {
	t.Parallel()
	for _, c := range valuesCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			ns := c.namespace()
			testenv.EnsureNamespace(ctx, t, cp.Client, ns, nil)
			objs := render(t, ns, c.files()...)
			for _, u := range objs {
				if got := u.GetNamespace(); got != "" && got != ns {
					t.Errorf("%s %s is rendered into namespace %q, not the release's %q", u.GetKind(), u.GetName(), got, ns)
				}
				if err := testenv.DryRunApply(ctx, cp.Client, u); err != nil {
					t.Errorf("%s %s/%s: the API server refused it: %v", u.GetKind(), u.GetNamespace(), u.GetName(), err)
				}
			}
			if got := objs.kinds(); !maps.Equal(got, c.kinds) {
				t.Errorf("rendered %v, want %v", got, c.kinds)
			}
		})
	}
}

// TestEveryValuesFileIsACase keeps testdata/values and valuesCases
// together: a values file no case lists would be linted but never applied.
func TestEveryValuesFileIsACase(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "values", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, c := range valuesCases {
		listed = append(listed, c.files()...)
	}
	slices.Sort(listed)
	if !slices.Equal(files, listed) {
		t.Errorf("testdata/values holds %v, valuesCases lists %v", files, listed)
	}
}
