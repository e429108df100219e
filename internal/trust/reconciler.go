package trust

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/policy"
)

// Reconciler writes the status of one kind of trust policy.
type Reconciler struct {
	Client  client.Client
	Secrets policy.SecretReader
	// Cluster selects ClusterTrustPolicy; otherwise TrustPolicy.
	Cluster bool
}

// SetupWithManager registers the reconciler for its kind.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	var obj client.Object = &igv1.TrustPolicy{}
	name := "trustpolicy"
	if r.Cluster {
		obj, name = &igv1.ClusterTrustPolicy{}, "clustertrustpolicy"
	}
	return ctrl.NewControllerManagedBy(mgr).Named(name).
		For(obj, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.policiesReading)).
		Complete(r)
}

// Reconcile compiles the policy and records the result.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	obj, spec, status, ref := r.empty(req)
	if err := r.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := obj.DeepCopyObject().(client.Object)
	p, err := policy.Compile(ctx, ref, spec, r.Secrets)
	status.ObservedGeneration = obj.GetGeneration()
	cond := metav1.Condition{Type: igv1.ReadyCondition, ObservedGeneration: obj.GetGeneration()}
	if err != nil {
		status.PolicyHash = ""
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, igv1.ReasonInvalidPolicy, err.Error()
	} else {
		status.PolicyHash = p.Hash
		cond.Status, cond.Reason = metav1.ConditionTrue, igv1.ReasonSucceeded
		cond.Message = fmt.Sprintf("%d authorities, require %s", len(p.Authorities), p.Require.Mode)
	}
	apimeta.SetStatusCondition(&status.Conditions, cond)
	if perr := r.Client.Status().Patch(ctx, obj, client.MergeFrom(before)); perr != nil {
		return ctrl.Result{}, client.IgnoreNotFound(perr)
	}
	return ctrl.Result{}, nil
}

// empty returns a fresh object of the reconciled kind and pointers into it.
func (r *Reconciler) empty(req ctrl.Request) (client.Object, *igv1.TrustPolicySpec, *igv1.TrustPolicyStatus, policy.Ref) {
	if r.Cluster {
		o := &igv1.ClusterTrustPolicy{}
		return o, &o.Spec, &o.Status, policy.Ref{Kind: "ClusterTrustPolicy", Name: req.Name}
	}
	o := &igv1.TrustPolicy{}
	return o, &o.Spec, &o.Status, policy.Ref{Kind: "TrustPolicy", Namespace: req.Namespace, Name: req.Name}
}
