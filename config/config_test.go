package config_test

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/imagegate/imagegate/internal/testenv"
)

// installNamespace is where config/default installs imagegate.
const installNamespace = "imagegate-system"

var cp *testenv.ControlPlane

func TestMain(m *testing.M) { testenv.RunMain(m, &cp) }

// TestManifestsAcceptedByAPIServer sends every object config/default and
// config/samples list to the API server as a server-side dry run: schema,
// CRD validation (OpenAPI and CEL) and built-in admission all run, nothing
// is stored.
func TestManifestsAcceptedByAPIServer(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	var all []manifest
	for _, dir := range []string{"default", "samples"} {
		all = append(all, render(t, dir)...)
	}
	kinds := map[string]int{}
	for _, m := range all {
		kinds[m.obj.GetKind()]++
		if ns := m.obj.GetNamespace(); ns != "" {
			ensureNamespace(ctx, t, ns)
		}
	}
	for _, m := range all {
		if err := dryRunCreate(ctx, cp.Client, m.obj.DeepCopy()); err != nil {
			t.Errorf("%s: the API server refused it: %v", m, err)
		}
	}
	want := map[string]int{
		"CustomResourceDefinition": 4, "Namespace": 1, "ServiceAccount": 2,
		"ClusterRole": 3, "ClusterRoleBinding": 3, "Role": 2, "RoleBinding": 2,
		"Deployment": 2, "Service": 1, "PodDisruptionBudget": 1, "NetworkPolicy": 1,
		"ValidatingWebhookConfiguration": 1,
		"ClusterTrustPolicy":             1, "TrustPolicy": 1, "ImageGate": 1,
	}
	for kind, n := range want {
		if kinds[kind] != n {
			t.Errorf("config/default and config/samples hold %d %s, want %d", kinds[kind], kind, n)
		}
	}
	if len(all) != sum(want) {
		t.Errorf("config/default and config/samples hold %d objects (%v), want %d", len(all), kinds, sum(want))
	}
}

// dryRunCreate creates obj as a server-side dry run; an object that exists
// already (the CRDs envtest installed, the namespace) is dry-run updated
// instead, which validates it the same way.
func dryRunCreate(ctx context.Context, c client.Client, obj *unstructured.Unstructured) error {
	err := c.Create(ctx, obj.DeepCopy(), client.DryRunAll)
	if !apierrors.IsAlreadyExists(err) {
		return err
	}
	cur := &unstructured.Unstructured{}
	cur.SetGroupVersionKind(obj.GroupVersionKind())
	if err := c.Get(ctx, client.ObjectKeyFromObject(obj), cur); err != nil {
		return err
	}
	obj.SetResourceVersion(cur.GetResourceVersion())
	return c.Update(ctx, obj, client.DryRunAll)
}

// ensureNamespace creates a namespace for real: dry-run creates of
// namespaced objects need it.
func ensureNamespace(ctx context.Context, t *testing.T, name string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := cp.Client.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
