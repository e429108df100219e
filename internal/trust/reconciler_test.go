package trust

import (
	"context"
	"strings"
	"testing"
	"time"

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

// TestResyncRequeuesAndWritesOnlyChanges: every reconcile asks to come
// back after the resync period (that is how Secrets are read again), and
// a reconcile that finds nothing new writes nothing: one status patch for
// two reconciles, counted at the API server.
func TestResyncRequeuesAndWritesOnlyChanges(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	key := testenv.NewCosignKey(t)
	p := testenv.ClusterTrustPolicy("resync", testenv.KeyPolicySpec("registry.example/**", key.PublicPEM))
	if err := cp.Client.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	cfg, reqs := testenv.RecordAPIRequests(cp.Config)
	c, err := client.New(cfg, client.Options{Scheme: cp.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	r := &Reconciler{Client: c, Secrets: secrets.Reader{Client: c}, Cluster: true, Resync: 42 * time.Second}
	for range 2 {
		res, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(p)})
		if err != nil {
			t.Fatal(err)
		}
		if res.RequeueAfter != 42*time.Second {
			t.Fatalf("RequeueAfter = %s, want the resync period 42s", res.RequeueAfter)
		}
	}
	patches := 0
	for _, q := range reqs.Of("clustertrustpolicies") {
		if q.Verb == "patch" {
			patches++
		}
	}
	if patches != 1 {
		t.Fatalf("%d status patches for two reconciles of an unchanged policy, want 1", patches)
	}
	if got := (&Reconciler{}).resync(); got != DefaultResync {
		t.Fatalf("default resync %s, want %s", got, DefaultResync)
	}
}
