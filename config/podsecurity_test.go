package config_test

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestPodsMeetRestrictedPodSecurity dry-runs a Pod of each Deployment's
// template in a namespace that enforces the restricted Pod Security
// Standard, as config/manager labels imagegate-system. A privileged Pod
// is refused there first, so the check is known to be enforced.
func TestPodsMeetRestrictedPodSecurity(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: "psa-restricted", Labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted"},
	}}
	if err := cp.Client.Create(ctx, ns); err != nil {
		t.Fatalf("creating namespace %s: %v", ns.Name, err)
	}
	bad := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "privileged", Namespace: ns.Name},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "c", Image: "example.com/c:1", SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)},
		}}},
	}
	if err := cp.Client.Create(ctx, bad, client.DryRunAll); err == nil || !strings.Contains(err.Error(), "violates PodSecurity") {
		t.Fatalf("a privileged Pod got %v, want a PodSecurity violation: without enforcement the check below proves nothing", err)
	}
	n := 0
	for _, m := range render(t, "manager") {
		if m.obj.GetKind() != "Deployment" {
			continue
		}
		d := &appsv1.Deployment{}
		fromUnstructured(t, m, d)
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: d.Name, Namespace: ns.Name, Labels: d.Spec.Template.Labels}, Spec: d.Spec.Template.Spec}
		// The service account is irrelevant to Pod Security and absent here.
		pod.Spec.ServiceAccountName = ""
		if err := cp.Client.Create(ctx, pod, client.DryRunAll); err != nil {
			t.Errorf("%s: its Pod is refused under the restricted Pod Security Standard: %v", m, err)
		}
		n++
	}
	if n != 2 {
		t.Errorf("config/manager holds %d Deployments, want 2", n)
	}
}
