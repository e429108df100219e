package config_test

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/imagegate/imagegate/internal/testenv"
)

// TestPodsMeetRestrictedPodSecurity: the Pods of the installs' Deployments
// pass the restricted Pod Security Standard, as config/namespace labels
// imagegate-system (the certificate volume differs between them), and as
// they must in flux-system, whose labels belong to Flux.
func TestPodsMeetRestrictedPodSecurity(t *testing.T) {
	t.Parallel()
	var deployments []*appsv1.Deployment
	for _, dir := range []string{"default", "cert-manager", "flux-system"} {
		for _, m := range render(t, dir) {
			if m.obj.GetKind() == "Deployment" {
				d := &appsv1.Deployment{}
				fromUnstructured(t, m, d)
				deployments = append(deployments, d)
			}
		}
	}
	if n := testenv.CheckRestrictedPodSecurity(t.Context(), t, cp.Client, "psa-restricted", deployments); n != 6 {
		t.Errorf("checked %d Pods, want 6 (two Deployments, three installs)", n)
	}
}
