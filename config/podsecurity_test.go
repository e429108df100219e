package config_test

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/imagegate/imagegate/internal/testenv"
)

// TestPodsMeetRestrictedPodSecurity: the Pods of both installs' Deployments
// pass the restricted Pod Security Standard, as config/manager labels
// imagegate-system (the certificate volume differs between them).
func TestPodsMeetRestrictedPodSecurity(t *testing.T) {
	t.Parallel()
	var deployments []*appsv1.Deployment
	for _, dir := range []string{"default", "cert-manager"} {
		for _, m := range render(t, dir) {
			if m.obj.GetKind() == "Deployment" {
				d := &appsv1.Deployment{}
				fromUnstructured(t, m, d)
				deployments = append(deployments, d)
			}
		}
	}
	if n := testenv.CheckRestrictedPodSecurity(t.Context(), t, cp.Client, "psa-restricted", deployments); n != 4 {
		t.Errorf("checked %d Pods, want 4 (two Deployments, two installs)", n)
	}
}
