package trust

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/secrets"
	"github.com/imagegate/imagegate/internal/testenv"
)

var cp *testenv.ControlPlane

func TestMain(m *testing.M) { testenv.RunMain(m, &cp) }

func TestStatusReportsHashOrTheCompileError(t *testing.T) {
	ctx := context.Background()
	key := testenv.NewCosignKey(t)
	good := testenv.ClusterTrustPolicy("good", testenv.KeyPolicySpec("registry.example/**", key.PublicPEM))
	bad := testenv.ClusterTrustPolicy("bad", testenv.KeyPolicySpec("registry.example/**", []byte("not a key")))
	r := &Reconciler{Client: cp.Client, Secrets: secrets.Reader{Client: cp.Client}, Cluster: true}
	for _, p := range []*igv1.ClusterTrustPolicy{good, bad} {
		if err := cp.Client.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(p)}); err != nil {
			t.Fatal(err)
		}
		if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(p), p); err != nil {
			t.Fatal(err)
		}
	}
	if c := good.Status.Conditions; len(c) != 1 || c[0].Status != metav1.ConditionTrue || len(good.Status.PolicyHash) != 71 || good.Status.ObservedGeneration != good.Generation {
		t.Fatalf("good policy status: %+v", good.Status)
	}
	c := bad.Status.Conditions
	if len(c) != 1 || c[0].Status != metav1.ConditionFalse || c[0].Reason != igv1.ReasonInvalidPolicy || bad.Status.PolicyHash != "" {
		t.Fatalf("bad policy status: %+v", bad.Status)
	}
	if want := "spec.authorities[0]: key: not a PEM public key"; !strings.Contains(c[0].Message, want) {
		t.Fatalf("message %q lacks %q", c[0].Message, want)
	}
}
