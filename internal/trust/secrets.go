package trust

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
)

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
