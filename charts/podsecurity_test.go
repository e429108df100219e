package charts_test

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/imagegate/imagegate/internal/testenv"
)

// TestPodsMeetRestrictedPodSecurity dry-runs a Pod of each rendered
// Deployment's template, in both certificate modes (their volumes differ),
// in a namespace that enforces the restricted Pod Security Standard, which
// docs/install.md tells users to label the release namespace with. A
// privileged Pod is refused there first, so the check is known to be
// enforced.
func TestPodsMeetRestrictedPodSecurity(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	const ns = "chart-restricted"
	testenv.EnsureNamespace(ctx, t, cp.Client, ns, map[string]string{"pod-security.kubernetes.io/enforce": "restricted"})
	bad := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "privileged", Namespace: ns},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "c", Image: "example.com/c:1", SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)},
		}}},
	}
	if err := cp.Client.Create(ctx, bad, client.DryRunAll); err == nil || !strings.Contains(err.Error(), "violates PodSecurity") {
		t.Fatalf("a privileged Pod got %v, want a PodSecurity violation: without enforcement the check below proves nothing", err)
	}
	n := 0
	for _, files := range [][]string{nil, {"testdata/values/cert-manager.yaml"}} {
		for _, u := range render(t, ns, files...).ofKind("Deployment") {
			var d appsv1.Deployment
			fromUnstructured(t, u, &d)
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: d.Name, Namespace: ns, Labels: d.Spec.Template.Labels}, Spec: d.Spec.Template.Spec}
			// The service account is irrelevant to Pod Security and absent here.
			pod.Spec.ServiceAccountName = ""
			if err := cp.Client.Create(ctx, pod, client.DryRunAll); err != nil {
				t.Errorf("Deployment %s (values %v): its Pod is refused under the restricted Pod Security Standard: %v", d.Name, files, err)
			}
			n++
		}
	}
	if n != 4 {
		t.Errorf("checked %d Pods, want 4 (two Deployments, two certificate modes)", n)
	}
}
