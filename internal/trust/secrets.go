package trust

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

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

// readsSecret reports whether spec reads the Secret namespace/name; a
// TrustPolicy's references default to its own namespace.
func readsSecret(spec *igv1.TrustPolicySpec, policyNS, namespace, name string) bool {
	is := func(r *igv1.SecretKeyRef) bool {
		ns := r.Namespace
		if ns == "" {
			ns = policyNS
		}
		return r.Name == name && ns == namespace
	}
	for i := range spec.Authorities {
		a := &spec.Authorities[i]
		if a.Key != nil && a.Key.SecretRef != nil && is(a.Key.SecretRef) {
			return true
		}
		if a.Keyless != nil && is(&a.Keyless.TrustedRoot.SecretRef) {
			return true
		}
	}
	return false
}

// policiesReading maps a watched Secret (its metadata) to the policies of
// the reconciled kind that read it: rotating a key, or creating a Secret
// a policy waited for, changes the policy's hash and readiness without a
// spec change.
func (r *Reconciler) policiesReading(ctx context.Context, sec client.Object) []reconcile.Request {
	var out []reconcile.Request
	add := func(ns, name string, spec *igv1.TrustPolicySpec) {
		if readsSecret(spec, ns, sec.GetNamespace(), sec.GetName()) {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKey{Namespace: ns, Name: name}})
		}
	}
	if r.Cluster {
		var list igv1.ClusterTrustPolicyList
		if err := r.Client.List(ctx, &list); err != nil {
			log.FromContext(ctx).Error(err, "listing ClusterTrustPolicies for a changed Secret")
			return nil
		}
		for i := range list.Items {
			add("", list.Items[i].Name, &list.Items[i].Spec)
		}
		return out
	}
	var list igv1.TrustPolicyList
	if err := r.Client.List(ctx, &list, client.InNamespace(sec.GetNamespace())); err != nil {
		log.FromContext(ctx).Error(err, "listing TrustPolicies for a changed Secret")
		return nil
	}
	for i := range list.Items {
		add(list.Items[i].Namespace, list.Items[i].Name, &list.Items[i].Spec)
	}
	return out
}
