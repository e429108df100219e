package gate

import (
	"context"
	"fmt"

	iacv1 "github.com/fluxcd/image-automation-controller/api/v1"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/fluxcd/pkg/runtime/reconcile"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
)

// requestedAtAnnotation is Flux's manual reconcile request.
const requestedAtAnnotation = "reconcile.fluxcd.io/requestedAt"

// startRun marks a run Reconciling as image-automation-controller v1
// does. A run for a new generation or an unhandled reconcile request
// writes the condition at once (with Ready Unknown if Ready was not yet
// known), so that kstatus readers such as `flux` and `kubectl wait` see
// that the change is being processed; a routine run writes nothing
// until it ends, which spares a status write per interval.
func (r *Reconciler) startRun(ctx context.Context, rn *run) error {
	g := rn.gate
	rn.progress = "reconciliation in progress"
	switch {
	case g.Generation != g.Status.ObservedGeneration:
		rn.progress = fmt.Sprintf("processing object: new generation %d -> %d", g.Status.ObservedGeneration, g.Generation)
	case g.Annotations[requestedAtAnnotation] != g.Status.LastHandledReconcileAt:
	default:
		return nil
	}
	before := g.DeepCopy()
	reconcile.ProgressiveStatus(false, g, igv1.ReasonProgressing, "%s", rn.progress)
	if err := r.Client.Status().Patch(ctx, g, client.MergeFrom(before)); err != nil {
		return fmt.Errorf("patching status: %w", err)
	}
	return nil
}

// markProgress records the run in the fields Flux's automation has: the
// start time always; Reconciling stays, with reason ProgressingWithRetry,
// only while a transient failure is retried (kstatus: a stalled object is
// not reconciling, a ready one is done).
func (r *Reconciler) markProgress(rn *run, retried bool) {
	g := rn.gate
	g.Status.LastAutomationRunTime = &metav1.Time{Time: rn.start}
	if !retried {
		conditions.Delete(g, igv1.ReconcilingCondition)
		return
	}
	conditions.MarkReconciling(g, igv1.ReasonProgressingWithRetry, "%s", rn.progress)
}

// observedPolicies is each selection as the ImagePolicy made it, keyed
// by ImagePolicy name, as Flux's status.observedPolicies.
func observedPolicies(sel []selection) iacv1.ObservedPolicies {
	if len(sel) == 0 {
		return nil
	}
	out := make(iacv1.ObservedPolicies, len(sel))
	for i := range sel {
		s := &sel[i]
		out[s.policy.Name] = iacv1.ImageRef{Name: s.ref.Name, Tag: s.ref.Tag, Digest: s.ref.Digest}
	}
	return out
}
