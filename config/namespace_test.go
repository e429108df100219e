package config_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestInstallFollowsItsNamespace: whichever namespace an install lands in,
// every namespaced object, binding subject and webhook Service reference
// names it, nothing names imagegate-system unless that is the namespace,
// and the webhook's exemption follows it: config/default and an overlay
// moving it exempt their own namespace; config/flux-system exempts none
// but kube-system (the handler neither) and emits no Namespace object.
func TestInstallFollowsItsNamespace(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		dir, namespace string
		exempt         []string
		ownsNamespace  bool
	}{
		{"default", installNamespace, []string{"kube-system", installNamespace}, true},
		{"cert-manager", installNamespace, []string{"kube-system", installNamespace}, true},
		{"testdata/other-namespace", "imagegate-other", []string{"kube-system", "imagegate-other"}, true},
		{"testdata/other-namespace-cert-manager", "imagegate-other", []string{"kube-system", "imagegate-other"}, true},
		{"flux-system", "flux-system", []string{"kube-system"}, false},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			t.Parallel()
			namespaces := 0
			for _, m := range render(t, tc.dir) {
				if m.obj.GetKind() == "Namespace" {
					namespaces++
					if m.obj.GetName() != tc.namespace {
						t.Errorf("%s: want the Namespace %s", m, tc.namespace)
					}
				}
				if ns := m.obj.GetNamespace(); ns != "" && ns != tc.namespace {
					t.Errorf("%s: not in %s", m, tc.namespace)
				}
				b, err := json.Marshal(m.obj.Object)
				if err != nil {
					t.Fatal(err)
				}
				if tc.namespace != installNamespace && strings.Contains(string(b), installNamespace) {
					t.Errorf("%s still names %s", m, installNamespace)
				}
				switch m.obj.GetKind() {
				case "ValidatingWebhookConfiguration":
					var vwc admissionregistrationv1.ValidatingWebhookConfiguration
					fromUnstructured(t, m, &vwc)
					checkExemption(t, m, &vwc, tc.namespace, tc.exempt)
					if ca, ok := vwc.Annotations["cert-manager.io/inject-ca-from"]; ok && ca != tc.namespace+"/imagegate-webhook" {
						t.Errorf("%s: inject-ca-from %q, want %s/imagegate-webhook", m, ca, tc.namespace)
					}
				case "Certificate":
					if m.obj.GetName() != "imagegate-webhook" {
						continue
					}
					names, _, _ := unstructured.NestedStringSlice(m.obj.Object, "spec", "dnsNames")
					if want := []string{"imagegate-webhook." + tc.namespace + ".svc", "imagegate-webhook." + tc.namespace + ".svc.cluster.local"}; !slices.Equal(names, want) {
						t.Errorf("%s: dnsNames %q, want %q", m, names, want)
					}
				case "Deployment":
					if m.obj.GetName() != "imagegate-webhook" {
						continue
					}
					var d appsv1.Deployment
					fromUnstructured(t, m, &d)
					flags := argFlags(d.Spec.Template.Spec.Containers[0].Args)
					// Unset, the handler exempts kube-system and its own
					// namespace; beside Flux it must exempt kube-system only.
					got, set := flags["--exempt-namespaces"]
					if tc.ownsNamespace && set || !tc.ownsNamespace && got != "kube-system" {
						t.Errorf("%s: --exempt-namespaces=%q (set %v), want %s", m, got, set, strings.Join(tc.exempt, ","))
					}
				}
			}
			if want := map[bool]int{true: 1, false: 0}[tc.ownsNamespace]; namespaces != want {
				t.Errorf("config/%s renders %d Namespace objects, want %d", tc.dir, namespaces, want)
			}
		})
	}
}

// checkExemption: both webhooks call the Service in namespace, and the
// workloads webhook skips exactly the exempt namespaces.
func checkExemption(t *testing.T, m manifest, vwc *admissionregistrationv1.ValidatingWebhookConfiguration, namespace string, exempt []string) {
	t.Helper()
	for _, w := range vwc.Webhooks {
		if s := w.ClientConfig.Service; s == nil || s.Namespace != namespace {
			t.Errorf("%s: webhook %s calls %+v, want a Service in %s", m, w.Name, s, namespace)
		}
		if w.Name != "workloads.imagegate.dev" {
			continue
		}
		sel := w.NamespaceSelector
		if sel == nil || len(sel.MatchExpressions) != 1 || !slices.Equal(sel.MatchExpressions[0].Values, exempt) {
			t.Errorf("%s: webhook %s skips namespaces %+v, want exactly %v", m, w.Name, sel, exempt)
		}
	}
}
