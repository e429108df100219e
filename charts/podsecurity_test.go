package charts_test

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/imagegate/imagegate/internal/testenv"
)

// TestPodsMeetRestrictedPodSecurity: the Pod of each rendered Deployment,
// in both certificate modes (their volumes differ), passes the restricted
// Pod Security Standard, which docs/install.md tells users to label the
// release namespace with.
func TestPodsMeetRestrictedPodSecurity(t *testing.T) {
	t.Parallel()
	var deployments []*appsv1.Deployment
	for _, files := range [][]string{nil, {"testdata/values/cert-manager.yaml"}} {
		for _, u := range render(t, "chart-restricted", files...).ofKind("Deployment") {
			d := &appsv1.Deployment{}
			fromUnstructured(t, u, d)
			deployments = append(deployments, d)
		}
	}
	if n := testenv.CheckRestrictedPodSecurity(t.Context(), t, cp.Client, "chart-restricted", deployments); n != 4 {
		t.Errorf("checked %d Pods, want 4 (two Deployments, two certificate modes)", n)
	}
}
