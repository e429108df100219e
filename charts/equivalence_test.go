package charts_test

import (
	"maps"
	"slices"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/diff"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/imagegate/imagegate/internal/admission"
	"github.com/imagegate/imagegate/internal/testenv"
)

// configNamespace is where config/ installs imagegate; the chart is
// rendered into it to compare the two.
const configNamespace = "imagegate-system"

// spelledOut are the flags the chart renders although config/ leaves them
// at the binary's defaults, with those defaults: a flag the chart drops,
// adds or changes by accident fails TestMatchesConfig.
var spelledOut = map[string]map[string]string{
	"imagegate-controller": {
		"--concurrent": "4", "--log-format": "json", "--log-level": "info", "--verified-ttl": "12h",
		"--setter-max-file-bytes": "4194304", "--setter-max-file-nodes": "400000", "--git-timeout-max": "5m",
		"--tuf-mirror": "https://tuf-repo-cdn.sigstore.dev", "--tuf-refresh-interval": "24h", "--tuf-secret": "imagegate-sigstore-tuf",
	},
	"imagegate-webhook": {
		"--log-format": "json", "--log-level": "info", "--verified-ttl": "12h",
		"--tuf-mirror": "https://tuf-repo-cdn.sigstore.dev", "--tuf-refresh-interval": "24h", "--tuf-secret": "imagegate-sigstore-tuf",
		"--exempt-namespaces": "kube-system," + configNamespace,
		"--timeout":           admission.DefaultTimeout.String(),
	},
}

// selfManagedFlags are the certificate flags the chart spells out in
// self-managed mode.
var selfManagedFlags = map[string]string{
	"--cert-secret": "imagegate-webhook-tls", "--webhook-configuration": "imagegate", "--service-name": "imagegate-webhook",
}

// TestMatchesConfig renders the chart into imagegate-system and compares
// it, object by object, with the kustomize install it mirrors: the same
// objects (but the Namespace, which helm --create-namespace makes), the
// same rules, bindings, webhooks, Pod specs and flags. Only labels (the
// chart adds Helm's), the image and the flags the chart spells out may
// differ.
func TestMatchesConfig(t *testing.T) {
	t.Parallel()
	cases := []struct {
		config string
		files  []string
		// certFlags are the certificate flags the chart spells out.
		certFlags map[string]string
	}{
		{config: "config/default", certFlags: selfManagedFlags},
		{config: "config/cert-manager", files: []string{"testdata/values/cert-manager.yaml"}, certFlags: map[string]string{"--cert-mode": "files"}},
		{config: "config/testdata/network-policy-peers", files: []string{"testdata/values/network-policy-peers.yaml"}, certFlags: selfManagedFlags},
		{config: "config/testdata/watch-secrets", files: []string{"testdata/values/watch-secrets.yaml"}, certFlags: selfManagedFlags},
	}
	for _, c := range cases {
		t.Run(c.config, func(t *testing.T) {
			t.Parallel()
			chart := render(t, configNamespace, c.files...)
			var config objects
			for _, u := range testenv.Kustomize(t, c.config) {
				if u.GetKind() != "Namespace" {
					config = append(config, u)
				}
			}
			if got, want := keys(chart), keys(config); !slices.Equal(got, want) {
				t.Errorf("the chart renders\n %v\n%s renders\n %v", got, c.config, want)
			}
			for _, want := range config {
				got := chart.find(want.GetKind(), want.GetName())
				if got == nil {
					continue
				}
				extra := map[string]string{}
				maps.Copy(extra, spelledOut[want.GetName()])
				if want.GetName() == "imagegate-webhook" {
					maps.Copy(extra, c.certFlags)
				}
				compareObjects(t, got, want, extra)
			}
		})
	}
}

// keys lists objects as sorted "Kind name" strings.
func keys(o objects) []string {
	var out []string
	for _, u := range o {
		out = append(out, u.GetKind()+" "+u.GetName())
	}
	slices.Sort(out)
	return out
}

// compareObjects compares one rendered object with config/'s, typed where
// the scheme knows the kind (so that an omitted false equals an explicit
// one), without labels, image and the spelled-out flags.
func compareObjects(t *testing.T, got, want *unstructured.Unstructured, extraFlags map[string]string) {
	t.Helper()
	g, w := typed(t, got), typed(t, want)
	if d, ok := g.(*appsv1.Deployment); ok {
		compareArgs(t, d, w.(*appsv1.Deployment), extraFlags)
	}
	if !equality.Semantic.DeepEqual(g, w) {
		t.Errorf("%s %s differs from config/'s (- chart, + config):\n%s", got.GetKind(), got.GetName(), diff.Diff(g, w))
	}
}

// typed converts u to its Go type (unstructured for kinds the scheme does
// not know, such as cert-manager's) and clears what may differ.
func typed(t *testing.T, u *unstructured.Unstructured) runtime.Object {
	t.Helper()
	u = u.DeepCopy()
	u.SetLabels(nil)
	obj, err := cp.Scheme.New(u.GroupVersionKind())
	if err != nil {
		return u
	}
	fromUnstructured(t, u, obj)
	if d, ok := obj.(*appsv1.Deployment); ok {
		d.Spec.Template.Labels = nil
		for i := range d.Spec.Template.Spec.Containers {
			d.Spec.Template.Spec.Containers[i].Image = ""
		}
	}
	return obj
}

// compareArgs compares the first container's arguments and clears them
// in both, so that the rest of the Pod spec is compared apart.
func compareArgs(t *testing.T, got, want *appsv1.Deployment, extra map[string]string) {
	t.Helper()
	g, w := &got.Spec.Template.Spec.Containers[0], &want.Spec.Template.Spec.Containers[0]
	if g.Args[0] != w.Args[0] {
		t.Errorf("%s runs subcommand %q, config/ %q", got.Name, g.Args[0], w.Args[0])
	}
	gotFlags, wantFlags := argFlags(g.Args[1:]), argFlags(expandPodNamespace(w.Args[1:]))
	maps.Copy(wantFlags, extra)
	if !maps.Equal(gotFlags, wantFlags) {
		t.Errorf("%s: flags are\n %v\nwant config/'s and the spelled-out defaults\n %v", got.Name, gotFlags, wantFlags)
	}
	g.Args, w.Args = nil, nil
}

// expandPodNamespace does what the kubelet does to config/'s arguments,
// which name the install namespace as $(POD_NAMESPACE) (the container's
// env defines it from metadata.namespace); the chart spells it out.
func expandPodNamespace(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.ReplaceAll(a, "$(POD_NAMESPACE)", configNamespace)
	}
	return out
}

// TestWebhookConfigurationMatchesAdmission compares the rendered
// ValidatingWebhookConfiguration with what admission.WebhookConfiguration
// builds for the same options, for the values that change it.
func TestWebhookConfigurationMatchesAdmission(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name          string
		files         []string
		opts          admission.ConfigOptions
		failurePolicy admissionregistrationv1.FailurePolicyType
		timeout       int32
	}{
		{name: "defaults", failurePolicy: admissionregistrationv1.Fail, timeout: admission.TimeoutSeconds},
		{
			name: "pods only, failing open", files: []string{"testdata/values/pods-only-ignore.yaml"},
			opts:          admission.ConfigOptions{PodsOnly: true, ExemptNamespaces: []string{"kube-system", "flux-system", configNamespace}},
			failurePolicy: admissionregistrationv1.Ignore, timeout: 5,
		},
		{
			name: "every value set", files: []string{"testdata/values/everything.yaml"},
			opts:          admission.ConfigOptions{ExemptNamespaces: []string{"kube-system", "kube-public", "monitoring", configNamespace}},
			failurePolicy: admissionregistrationv1.Fail, timeout: 3,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var got admissionregistrationv1.ValidatingWebhookConfiguration
			render(t, configNamespace, c.files...).get(t, "ValidatingWebhookConfiguration", "imagegate", &got)
			c.opts.ServiceNamespace, c.opts.ServiceName = configNamespace, "imagegate-webhook"
			want := admission.WebhookConfiguration(c.opts)
			// The chart sets these from values; the ImageVerification
			// webhook always fails closed.
			want.Webhooks[0].FailurePolicy = ptr.To(c.failurePolicy)
			for i := range want.Webhooks {
				want.Webhooks[i].TimeoutSeconds = ptr.To(c.timeout)
			}
			if got.Name != want.Name || !equality.Semantic.DeepEqual(got.Webhooks, want.Webhooks) {
				wantYAML, err := yaml.Marshal(want.Webhooks)
				if err != nil {
					t.Fatal(err)
				}
				t.Errorf("the rendered configuration %q differs from admission.WebhookConfiguration; its webhooks should read:\n%s", got.Name, wantYAML)
			}
		})
	}
}

// TestMonitoringMatchesConfig: the chart's alerts and dashboard are
// config/monitoring's (TestChartCopiesCurrent checks the files; this
// checks the templates carry them over intact).
func TestMonitoringMatchesConfig(t *testing.T) {
	t.Parallel()
	chart := render(t, configNamespace, "testdata/values/monitoring.yaml")
	config := objects(testenv.Kustomize(t, "config/monitoring"))
	for _, k := range []struct{ kind, name, field string }{
		{"PrometheusRule", "imagegate", "spec"},
		{"ConfigMap", "imagegate-dashboard", "data"},
	} {
		got, want := chart.find(k.kind, k.name), config.find(k.kind, k.name)
		if got == nil || want == nil {
			t.Errorf("%s %s: rendered by the chart %v, by config/monitoring %v", k.kind, k.name, got != nil, want != nil)
			continue
		}
		if !equality.Semantic.DeepEqual(got.Object[k.field], want.Object[k.field]) {
			t.Errorf("%s %s: %s differs from config/monitoring's:\n%s", k.kind, k.name, k.field, diff.Diff(got.Object[k.field], want.Object[k.field]))
		}
	}
}
