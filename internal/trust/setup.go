package trust

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
)

// SetupWithManager registers the reconciler for its kind. Policies are
// compiled when they change and every resync period (Reconcile requeues),
// which is how a rotated key is noticed without watching Secrets; with a
// SecretSelector, a change to a selected Secret is noticed at once too.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	var obj client.Object = &igv1.TrustPolicy{}
	name := "trustpolicy"
	if r.Cluster {
		obj, name = &igv1.ClusterTrustPolicy{}, "clustertrustpolicy"
	}
	b := ctrl.NewControllerManagedBy(mgr).Named(name).
		For(obj, builder.WithPredicates(predicate.GenerationChangedPredicate{}))
	if sel := r.SecretSelector; sel != nil {
		// Metadata only: the mapping needs the Secret's name, and the
		// controller should not hold key material it did not ask for.
		b = b.WatchesMetadata(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.policiesReading),
			builder.WithPredicates(predicate.NewPredicateFuncs(func(o client.Object) bool {
				return sel.Matches(labels.Set(o.GetLabels()))
			})))
	}
	return b.Complete(r)
}
