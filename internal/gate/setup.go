package gate

import (
	"context"
	"reflect"

	imagev1 "github.com/fluxcd/image-reflector-controller/api/v1"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
)

// SetupWithManager watches ImageGates and everything a reconcile reads:
// a new ImagePolicy selection, a changed trust policy or GitRepository
// triggers the gates that use them. It runs the policy store
// (setupPolicies), whose reloads enqueue the gates a changed policy
// judges.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager, concurrency int) error {
	policies, err := r.setupPolicies(mgr)
	if err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&igv1.ImageGate{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Watches(&imagev1.ImagePolicy{}, handler.EnqueueRequestsFromMapFunc(r.gatesInNamespace),
			builder.WithPredicates(latestRefChanged{})).
		WatchesRawSource(policies).
		Watches(&sourcev1.GitRepository{}, handler.EnqueueRequestsFromMapFunc(r.gatesInNamespace),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: concurrency}).
		Complete(r)
}

func (r *Reconciler) gatesInNamespace(ctx context.Context, obj client.Object) []reconcile.Request {
	return r.gates(ctx, client.InNamespace(obj.GetNamespace()))
}

func (r *Reconciler) gates(ctx context.Context, opts ...client.ListOption) []reconcile.Request {
	var list igv1.ImageGateList
	if err := r.Client.List(ctx, &list, opts...); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "listing ImageGates to enqueue")
		return nil
	}
	out := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return out
}

// latestRefChanged passes ImagePolicy events whose selection changed.
type latestRefChanged struct{ predicate.Funcs }

func (latestRefChanged) Update(e event.UpdateEvent) bool {
	o, ok1 := e.ObjectOld.(*imagev1.ImagePolicy)
	n, ok2 := e.ObjectNew.(*imagev1.ImagePolicy)
	if !ok1 || !ok2 {
		return false
	}
	return !reflect.DeepEqual(o.Status.LatestRef, n.Status.LatestRef) ||
		o.Annotations[igv1.TrustPolicyAnnotation] != n.Annotations[igv1.TrustPolicyAnnotation]
}
