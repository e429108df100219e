package gate

import (
	"context"
	"fmt"
	"testing"
	"time"

	imagev1 "github.com/fluxcd/image-reflector-controller/api/v1"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	ctrlcache "sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/testenv"
)

// stormUpdates is how many no-op updates each watched kind gets.
const stormUpdates = 40

// TestUpdateStormCostsNothing runs the gate as the controller does (a
// manager, its watches and predicates, a cache resyncing every second) and
// sends a storm of updates that change nothing the gate acts on: label
// patches and status writes of the ImageGate, its ImagePolicy, TrustPolicy
// and GitRepository. None may start a reconcile, a verification, a
// registry request or a commit. After each kind's storm one update that
// does matter (a sentinel) must start exactly one reconcile, which also
// shows that the storm's events were all seen: each kind's events are
// delivered in order.
func TestUpdateStormCostsNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "web")
	w.publishSigned("web", "v1")
	reg := prometheus.NewRegistry()
	w.rec.Metrics = NewMetrics(reg)
	before := len(w.log())
	mgr := w.startManager(t)
	w.rec.Client = mgr.GetClient()

	w.waitFor("the first reconcile to write the signed image", func(g *igv1.ImageGate) bool {
		return len(g.Status.Policies) == 1 && g.Status.Policies[0].Verified
	})
	w.sentinelReconcile("baseline")
	if n := len(w.log()); n != before+1 {
		t.Fatalf("%d commits after start, want 1", n-before)
	}
	if v := counterSum(t, reg, "imagegate_gate_verifications_total"); v != 1 {
		t.Fatalf("%v verifications after start, want 1", v)
	}
	reconciles, commits := histogramCount(t, reg, "imagegate_gate_reconcile_duration_seconds"), len(w.log())
	w.reg.ResetRequests()

	sentinels := 0
	for _, kind := range []struct {
		name     string
		storm    func(i int)
		sentinel func()
	}{
		{"ImagePolicy", w.stormImagePolicy, func() { w.annotateImagePolicy() }},
		{"TrustPolicy", w.stormTrustPolicy, func() {
			w.create(testenv.TrustPolicy(w.ns, "unrelated", testenv.KeyPolicySpec("other.example/**", w.key.PublicPEM)))
		}},
		{"GitRepository", w.stormGitRepository, func() {
			w.create(testenv.GitRepository(w.ns, "unrelated", w.git.URL()+"/unrelated.git", "main"))
		}},
		{"ImageGate", w.stormImageGate, func() { w.sentinelReconcile("after-storm") }},
	} {
		for i := range stormUpdates {
			kind.storm(i)
		}
		want := reconciles + float64(sentinels) + 1
		kind.sentinel()
		sentinels++
		w.waitFor("the "+kind.name+" sentinel's reconcile", func(*igv1.ImageGate) bool {
			return histogramCount(t, reg, "imagegate_gate_reconcile_duration_seconds") >= want
		})
		if got := histogramCount(t, reg, "imagegate_gate_reconcile_duration_seconds"); got != want {
			t.Fatalf("%d no-op %s updates and a sentinel made %v reconciles, want 1", stormUpdates, kind.name, got-want+1)
		}
	}
	if reqs := w.reg.Requests(); len(reqs) != 0 {
		t.Fatalf("the storm sent %d registry requests, want 0: %q", len(reqs), reqs)
	}
	if v := counterSum(t, reg, "imagegate_gate_verifications_total"); v != 1 {
		t.Fatalf("%v verifications in all, want the first one only", v)
	}
	if n := len(w.log()); n != commits {
		t.Fatalf("the storm made %d commits, want 0", n-commits)
	}
}

// startManager runs the gate's controller for the world's namespace in a
// manager whose cache resyncs every second; it stops in t.Cleanup.
func (w *world) startManager(t *testing.T) ctrl.Manager {
	t.Helper()
	return cp.StartManager(t, nil, ctrl.Options{
		Cache: ctrlcache.Options{DefaultNamespaces: map[string]ctrlcache.Config{w.ns: {}}, SyncPeriod: ptr.To(time.Second)},
	}, func(mgr ctrl.Manager) error { return w.rec.SetupWithManager(mgr, 1) })
}

// waitFor polls the ImageGate until cond holds; the deadline only bounds a
// broken test.
func (w *world) waitFor(what string, cond func(*igv1.ImageGate) bool) {
	w.t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		var g igv1.ImageGate
		if err := cp.Client.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "gate"}, &g); err != nil {
			return false, err
		}
		return cond(&g), nil
	})
	if err != nil {
		w.t.Fatalf("waiting for %s: %v", what, err)
	}
}

// sentinelReconcile asks for a reconcile as `flux reconcile` does and waits
// until the gate handled it.
func (w *world) sentinelReconcile(token string) {
	w.t.Helper()
	w.patch(&igv1.ImageGate{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "gate"}},
		fmt.Sprintf(`{"metadata":{"annotations":{"reconcile.fluxcd.io/requestedAt":%q}}}`, token))
	w.waitFor("the reconcile requested at "+token, func(g *igv1.ImageGate) bool { return g.Status.LastHandledReconcileAt == token })
}

func (w *world) patch(obj client.Object, mergePatch string) {
	w.t.Helper()
	if err := cp.Client.Patch(context.Background(), obj, client.RawPatch("application/merge-patch+json", []byte(mergePatch))); err != nil {
		w.t.Fatalf("patching %T %s: %v", obj, obj.GetName(), err)
	}
}

func (w *world) patchStatus(obj client.Object, mergePatch string) {
	w.t.Helper()
	if err := cp.Client.Status().Patch(context.Background(), obj, client.RawPatch("application/merge-patch+json", []byte(mergePatch))); err != nil {
		w.t.Fatalf("patching the status of %T %s: %v", obj, obj.GetName(), err)
	}
}

func label(i int) string { return fmt.Sprintf(`{"metadata":{"labels":{"storm":"%d"}}}`, i) }

// stormImagePolicy relabels the ImagePolicy and rewrites its status with
// the same selection, as image-reflector-controller does on every scan.
func (w *world) stormImagePolicy(i int) {
	ip := &imagev1.ImagePolicy{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "web"}}
	w.patch(ip, label(i))
	w.patchStatus(ip, fmt.Sprintf(`{"status":{"observedGeneration":%d}}`, i+1))
}

// annotateImagePolicy binds the ImagePolicy to the trust policy that
// covers it anyway: a change the gate watches that changes nothing.
func (w *world) annotateImagePolicy() {
	w.patch(&imagev1.ImagePolicy{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "web"}},
		fmt.Sprintf(`{"metadata":{"annotations":{%q:"signed"}}}`, igv1.TrustPolicyAnnotation))
}

// stormTrustPolicy relabels the trust policy and rewrites its status, as
// the trust policy controller does.
func (w *world) stormTrustPolicy(i int) {
	tp := &igv1.TrustPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "signed"}}
	w.patch(tp, label(i))
	w.patchStatus(tp, fmt.Sprintf(`{"status":{"observedGeneration":%d}}`, i+1))
}

// stormGitRepository relabels the GitRepository and rewrites its status,
// as source-controller does on every fetch.
func (w *world) stormGitRepository(i int) {
	repo := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "fleet"}}
	w.patch(repo, label(i))
	w.patchStatus(repo, fmt.Sprintf(`{"status":{"observedGeneration":%d}}`, i+1))
}

// stormImageGate relabels the ImageGate and rewrites a status field the
// gate does not own.
func (w *world) stormImageGate(i int) {
	g := &igv1.ImageGate{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "gate"}}
	w.patch(g, label(i))
	w.patchStatus(g, fmt.Sprintf(`{"status":{"lastHandledReconcileAt":"storm-%d"}}`, i))
}

func histogramCount(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	var n float64
	for _, m := range family(t, reg, name) {
		n += float64(m.GetHistogram().GetSampleCount())
	}
	return n
}

func counterSum(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	var n float64
	for _, m := range family(t, reg, name) {
		n += m.GetCounter().GetValue()
	}
	return n
}

func family(t *testing.T, reg *prometheus.Registry, name string) []*dto.Metric {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == name {
			return f.GetMetric()
		}
	}
	return nil
}
