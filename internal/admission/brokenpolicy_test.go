package admission

import (
	"context"
	"testing"

	v1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/testenv"
)

// TestBrokenPolicyDeniesItsImagesDespiteACatchAll: a strict TrustPolicy
// whose key Secret is missing does not compile. Its images are denied
// with InvalidPolicy; they must not fall to the namespace's catch-all in
// warn mode, which would admit them unsigned.
func TestBrokenPolicyDeniesItsImagesDespiteACatchAll(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.namespacedPolicy(t, testenv.WithMode(igv1.PolicyModeWarn))
	strict := testenv.TrustPolicy(f.ns, "strict", igv1.TrustPolicySpec{
		Images: []igv1.ImageGlob{{Glob: f.reg.Host() + "/team/**"}},
		Authorities: []igv1.Authority{{Name: "release", Key: &igv1.KeyAuthority{
			SecretRef: &igv1.SecretKeyRef{Name: "missing", Key: "cosign.pub"},
		}}},
	})
	if err := f.cl.c.Create(t.Context(), strict); err != nil {
		t.Fatal(err)
	}
	ref := policy.Ref{Kind: "TrustPolicy", Namespace: f.ns, Name: "strict"}
	waitFor(t, "the webhook to find "+ref.String()+" broken", func(context.Context) (bool, error) {
		_, broken := f.cl.wh.Policies.Invalid()[ref]
		return broken, nil
	})

	team := f.reg.PushImage(t, "team/app", "v1")
	err := f.cl.c.Create(t.Context(), testPod(f.ns, "team", team.String()), &client.CreateOptions{DryRun: []string{v1.DryRunAll}})
	mustDenyWith(t, err, team.String(), "TrustPolicy "+f.ns+"/strict", "does not compile", "[InvalidPolicy]")

	other := f.reg.PushImage(t, "web", "v1")
	if err := f.cl.c.Create(t.Context(), testPod(f.ns, "web", other.String()), &client.CreateOptions{DryRun: []string{v1.DryRunAll}}); err != nil {
		t.Errorf("an image outside the broken policy's globs: %v, want the catch-all's warn-mode admission", err)
	}
}
