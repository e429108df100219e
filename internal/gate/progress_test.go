package gate

import (
	"context"
	"errors"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	iacv1 "github.com/fluxcd/image-automation-controller/api/v1"
	imagev1 "github.com/fluxcd/image-reflector-controller/api/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
)

// TestStatusHasRunTimeAndObservedPolicies checks the fields `flux get
// image update` and dashboards read: lastAutomationRunTime is the run's
// start, observedPolicies every selection considered (blocked ones too),
// keyed by ImagePolicy, and both follow the next run.
func TestStatusHasRunTimeAndObservedPolicies(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "web", "api")
	dWeb := w.publishSigned("web", "v1")
	dAPI := w.push("api", "v2") // unsigned: blocked
	w.selectTag("api", "v2", dAPI)
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	w.rec.Now = func() time.Time { return now }

	w.mustReconcile()

	g := w.gate()
	if g.Status.LastAutomationRunTime == nil || !g.Status.LastAutomationRunTime.Time.Equal(now) {
		t.Errorf("lastAutomationRunTime %v, want %v", g.Status.LastAutomationRunTime, now)
	}
	want := iacv1.ObservedPolicies{
		"web": {Name: w.reg.Repo("web"), Tag: "v1", Digest: dWeb.DigestStr()},
		"api": {Name: w.reg.Repo("api"), Tag: "v2", Digest: dAPI.DigestStr()},
	}
	if !reflect.DeepEqual(g.Status.ObservedPolicies, want) {
		t.Errorf("observedPolicies %+v, want %+v", g.Status.ObservedPolicies, want)
	}
	if c := condition(g, igv1.BlockedCondition); c == nil || c.Status != metav1.ConditionTrue {
		t.Fatalf("api should be blocked: %+v", c)
	}

	if err := cp.Client.Delete(context.Background(), &imagev1.ImagePolicy{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "api"}}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour)
	w.mustReconcile()

	g = w.gate()
	if !g.Status.LastAutomationRunTime.Time.Equal(now) {
		t.Errorf("lastAutomationRunTime %v after the second run, want %v", g.Status.LastAutomationRunTime, now)
	}
	if _, ok := g.Status.ObservedPolicies["api"]; ok || len(g.Status.ObservedPolicies) != 1 {
		t.Errorf("observedPolicies %+v, want web only", g.Status.ObservedPolicies)
	}
}

// TestReconcilingCondition follows Reconciling through runs, reading the
// ImageGate from the API server in the middle of each run (at the Git
// write) and after it: written at once for a new generation and for a
// requested reconcile, not written by a routine run, kept with
// ProgressingWithRetry while a failure is retried, and removed by a
// successful or a stalled run.
func TestReconcilingCondition(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "web")
	w.publishSigned("web", "v1")
	var during, duringReady *metav1.Condition
	probe := &waitingGit{wait: func() {
		g := w.gate()
		during, duringReady = condition(g, igv1.ReconcilingCondition), condition(g, igv1.ReadyCondition)
	}}
	w.rec.Git = probe
	run := func() *igv1.ImageGate {
		t.Helper()
		during, duringReady = nil, nil
		_, _ = w.reconcile() // failures are what some steps test; the status says
		return w.gate()
	}

	g := run()
	if during == nil || during.Status != metav1.ConditionTrue || during.Reason != igv1.ReasonProgressing ||
		during.Message != "processing object: new generation 0 -> 1" {
		t.Errorf("during the first run: Reconciling %+v", during)
	}
	if duringReady == nil || duringReady.Status != metav1.ConditionUnknown {
		t.Errorf("during the first run: Ready %+v, want Unknown", duringReady)
	}
	wantDone(t, "first run", g)

	g = run()
	if during != nil {
		t.Errorf("a routine run wrote Reconciling before it ended: %+v", during)
	}
	wantDone(t, "routine run", g)

	annotate(t, w, "1")
	g = run()
	if during == nil || during.Status != metav1.ConditionTrue || during.Message != "reconciliation in progress" {
		t.Errorf("during the requested run: Reconciling %+v", during)
	}
	if duringReady == nil || duringReady.Status != metav1.ConditionTrue {
		t.Errorf("during the requested run: Ready %+v, want it left True", duringReady)
	}
	wantDone(t, "requested run", g)
	if g.Status.LastHandledReconcileAt != "1" {
		t.Errorf("lastHandledReconcileAt %q", g.Status.LastHandledReconcileAt)
	}

	w.rec.Git = crashingGit{}
	w.publishSigned("web", "v2")
	g = run()
	if c := condition(g, igv1.ReconcilingCondition); c == nil || c.Status != metav1.ConditionTrue || c.Reason != igv1.ReasonProgressingWithRetry {
		t.Errorf("after a failed run: Reconciling %+v, want True ProgressingWithRetry", c)
	}
	if c := condition(g, igv1.ReadyCondition); c == nil || c.Status != metav1.ConditionFalse || c.Reason != igv1.ReasonGitOperationFailed {
		t.Errorf("after a failed run: Ready %+v", c)
	}

	g.Spec.PolicySelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Near"}}}
	if err := cp.Client.Update(context.Background(), g); err != nil {
		t.Fatal(err)
	}
	g = run()
	if c := condition(g, igv1.StalledCondition); c == nil || c.Status != metav1.ConditionTrue {
		t.Fatalf("after a bad selector: Stalled %+v", c)
	}
	if c := condition(g, igv1.ReconcilingCondition); c != nil {
		t.Errorf("a stalled gate is not reconciling: %+v", c)
	}
}

func wantDone(t *testing.T, step string, g *igv1.ImageGate) {
	t.Helper()
	if c := condition(g, igv1.ReconcilingCondition); c != nil {
		t.Errorf("after the %s: Reconciling %+v, want none", step, c)
	}
	if c := condition(g, igv1.ReadyCondition); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("after the %s: Ready %+v", step, c)
	}
}

func annotate(t *testing.T, w *world, value string) {
	t.Helper()
	g := &igv1.ImageGate{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "gate"}}
	patch := client.RawPatch("application/merge-patch+json", []byte(`{"metadata":{"annotations":{"`+requestedAtAnnotation+`":"`+value+`"}}}`))
	if err := cp.Client.Patch(context.Background(), g, patch); err != nil {
		t.Fatal(err)
	}
}

// TestRefusedReconcilingWriteDoesNoWork has the API server refuse the
// Reconciling write of a new generation: the run returns the error, so
// that it is retried, before it asks a registry or Git anything, as
// Flux's automation does when it cannot record that it started.
func TestRefusedReconcilingWriteDoesNoWork(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "web")
	w.publishSigned("web", "v1")
	before := len(w.log())
	refused := errors.New("status writes are refused")
	var writes atomic.Int32
	w.rec.Client = interceptor.NewClient(watchClient(t), interceptor.Funcs{
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
			writes.Add(1)
			return refused
		},
	})
	w.reg.ResetRequests()

	if _, err := w.reconcile(); !errors.Is(err, refused) {
		t.Fatalf("reconcile: %v, want the refused write", err)
	}
	if n := writes.Load(); n != 1 {
		t.Errorf("%d status writes, want 1", n)
	}
	if n := len(w.reg.Requests()); n != 0 {
		t.Errorf("%d registry requests, want 0", n)
	}
	if n := len(w.log()) - before; n != 0 {
		t.Errorf("%d commits, want 0", n)
	}
}
