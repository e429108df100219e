package trust

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/secrets"
	"github.com/imagegate/imagegate/internal/testenv"
)

// TestStatusFollowsTheSecretsAPolicyReads: the Secret a policy waits for
// appears, then its key is rotated; the spec never changes, the status
// follows both.
func TestStatusFollowsTheSecretsAPolicyReads(t *testing.T) {
	ctx := t.Context()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "trust-secrets"}}
	if err := cp.Client.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	cp.StartManager(t, nil, ctrl.Options{}, func(mgr ctrl.Manager) error {
		r := &Reconciler{Client: mgr.GetClient(), Secrets: secrets.Reader{Client: mgr.GetClient()}}
		return r.SetupWithManager(mgr)
	})

	p := testenv.TrustPolicy(ns.Name, "release", igv1.TrustPolicySpec{
		Images: []igv1.ImageGlob{{Glob: "registry.example/**"}},
		Authorities: []igv1.Authority{{Name: "release", Key: &igv1.KeyAuthority{
			SecretRef: &igv1.SecretKeyRef{Name: "keys", Key: "cosign.pub"},
		}}},
	})
	if err := cp.Client.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	status := func(want metav1.ConditionStatus, notHash string) string {
		t.Helper()
		var hash string
		err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(p), p); err != nil {
				return false, err
			}
			c := p.Status.Conditions
			hash = p.Status.PolicyHash
			return len(c) == 1 && c[0].Status == want && (want == metav1.ConditionFalse || hash != notHash), nil
		})
		if err != nil {
			t.Fatalf("status never became Ready=%s with a new hash: %+v", want, p.Status)
		}
		return hash
	}
	status(metav1.ConditionFalse, "")

	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "keys"},
		Data:       map[string][]byte{"cosign.pub": testenv.NewCosignKey(t).PublicPEM},
	}
	if err := cp.Client.Create(ctx, sec); err != nil {
		t.Fatal(err)
	}
	first := status(metav1.ConditionTrue, "")

	sec.Data["cosign.pub"] = testenv.NewCosignKey(t).PublicPEM
	if err := cp.Client.Update(ctx, sec); err != nil {
		t.Fatal(err)
	}
	status(metav1.ConditionTrue, first)
}
