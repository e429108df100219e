package testenv

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// CheckRestrictedPodSecurity dry-runs a Pod of each Deployment's template
// in namespace ns, made to enforce the restricted Pod Security Standard.
// A privileged Pod is refused there first, so the check is known to be
// enforced. It returns how many Pods it checked.
func CheckRestrictedPodSecurity(ctx context.Context, t testing.TB, c client.Client, ns string, deployments []*appsv1.Deployment) int {
	t.Helper()
	EnsureNamespace(ctx, t, c, ns, map[string]string{"pod-security.kubernetes.io/enforce": "restricted"})
	bad := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "privileged", Namespace: ns},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "c", Image: "example.com/c:1", SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)},
		}}},
	}
	if err := c.Create(ctx, bad, client.DryRunAll); err == nil || !strings.Contains(err.Error(), "violates PodSecurity") {
		t.Fatalf("a privileged Pod got %v, want a PodSecurity violation: without enforcement the check proves nothing", err)
	}
	for _, d := range deployments {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: d.Name, Namespace: ns, Labels: d.Spec.Template.Labels}, Spec: d.Spec.Template.Spec}
		// The service account is irrelevant to Pod Security and absent here.
		pod.Spec.ServiceAccountName = ""
		if err := c.Create(ctx, pod, client.DryRunAll); err != nil {
			t.Errorf("Deployment %s: its Pod is refused under the restricted Pod Security Standard: %v", d.Name, err)
		}
	}
	return len(deployments)
}
