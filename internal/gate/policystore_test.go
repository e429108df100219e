package gate

import (
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/testenv"
)

// policyReconciles is how many reconciles TestPolicyCompiledOnceForManyReconciles runs.
const policyReconciles = 10

// TestPolicyCompiledOnceForManyReconciles runs the gate as the controller
// does (a manager, its informers, the policy store SetupWithManager
// builds) with a TrustPolicy that reads its key from a Secret: each
// compile of the policy is one GET of that Secret, counted at the API
// server. The first reconcile and policyReconciles more compile it once in
// all. Then the policy is pointed at another key: the next reconcile, the
// one the store starts after it swapped the new set in, judges under it
// (the image signed with the old key is blocked), and the new Secret is
// read once.
func TestPolicyCompiledOnceForManyReconciles(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "web")
	ctx := t.Context()
	w.create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "web-key"}, Data: map[string][]byte{"cosign.pub": w.key.PublicPEM}})
	// More specific than the world's "signed", so it is the one that judges.
	tp := testenv.TrustPolicy(w.ns, "web", keyFromSecret(w.reg.Repo("web"), "web-key"))
	w.create(tp)
	w.publishSigned("web", "v1")

	cfg, reqs := testenv.RecordAPIRequests(cp.Config)
	sc, err := client.New(cfg, client.Options{Scheme: cp.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	w.rec.Secrets = sc
	w.rec.Policies = nil // SetupWithManager builds the store, as in the controller
	reg := prometheus.NewRegistry()
	w.rec.Metrics = NewMetrics(reg)
	mgr := w.startManager(t)
	w.rec.Client = mgr.GetClient()
	reads := func(name string) int {
		n := 0
		for _, r := range reqs.Of("secrets") {
			if r.Verb == "get" && r.Namespace == w.ns && r.Name == name {
				n++
			}
		}
		return n
	}

	w.waitFor("the first reconcile to write the signed image", func(g *igv1.ImageGate) bool {
		return len(g.Status.Policies) == 1 && g.Status.Policies[0].Verified
	})
	if got := w.row("web").TrustPolicy; got != w.ns+"/web" {
		t.Fatalf("judged by %q, want %s/web", got, w.ns)
	}
	for i := range policyReconciles {
		w.sentinelReconcile(fmt.Sprintf("again-%d", i))
	}
	if n := reads("web-key"); n != 1 {
		t.Fatalf("%d reconciles compiled the policy %d times (GETs of its Secret), want 1", policyReconciles+1, n)
	}

	other := testenv.NewCosignKey(t)
	w.create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "web-key-2"}, Data: map[string][]byte{"cosign.pub": other.PublicPEM}})
	before := histogramCount(t, reg, "imagegate_gate_reconcile_duration_seconds")
	if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(tp), tp); err != nil {
		t.Fatal(err)
	}
	tp.Spec = keyFromSecret(w.reg.Repo("web"), "web-key-2")
	if err := cp.Client.Update(ctx, tp); err != nil {
		t.Fatal(err)
	}
	w.waitFor("the reconcile the policy change starts", func(*igv1.ImageGate) bool {
		return histogramCount(t, reg, "imagegate_gate_reconcile_duration_seconds") >= before+1
	})
	g := w.gate()
	if c := condition(g, igv1.BlockedCondition); c == nil || c.Status != metav1.ConditionTrue {
		t.Fatalf("the first reconcile after the key changed did not judge under the new key: Blocked %+v, rows %+v", c, g.Status.Policies)
	}
	if got := histogramCount(t, reg, "imagegate_gate_reconcile_duration_seconds"); got != before+1 {
		t.Fatalf("the policy change started %v reconciles, want 1", got-before)
	}
	if n, m := reads("web-key-2"), reads("web-key"); n != 1 || m != 1 {
		t.Fatalf("after the change: new Secret read %d times, old %d; want 1 and 1 (only the changed policy is compiled)", n, m)
	}
}

// keyFromSecret is a policy covering glob with one key read from the
// Secret name (key cosign.pub) of the policy's namespace.
func keyFromSecret(glob, name string) igv1.TrustPolicySpec {
	return igv1.TrustPolicySpec{
		Images: []igv1.ImageGlob{{Glob: glob}},
		Authorities: []igv1.Authority{{Name: "release", Key: &igv1.KeyAuthority{
			SecretRef: &igv1.SecretKeyRef{Name: name, Key: "cosign.pub"},
		}}},
	}
}
