package trust

import (
	"context"
	"fmt"
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/policy"
)

// DefaultResync is how often a policy is compiled again without a change
// to it, re-reading its Secrets: the webhook's policy store uses the same
// period (admission.DefaultPolicyResync), so both roles follow a rotated
// key within it.
const DefaultResync = 5 * time.Minute

// Reconciler writes the status of one kind of trust policy.
type Reconciler struct {
	Client client.Client
	// Secrets reads the keys and trusted roots a policy names, one Secret
	// by name at a time: the manager's API reader, so that the controller
	// needs get on Secrets and never lists, watches or caches them.
	Secrets policy.SecretReader
	// Cluster selects ClusterTrustPolicy; otherwise TrustPolicy.
	Cluster bool
	// Resync is how often each policy is compiled again (its Secrets read
	// again); a key rotated in a Secret shows in the policy's hash and
	// status within it. Default DefaultResync.
	Resync time.Duration
	// SecretSelector, when set, also watches the Secrets it matches (their
	// metadata only) and recompiles the policies that read one as soon as
	// it changes. The manager's cache must list no other Secrets
	// (secrets.LimitManager); watching needs list and watch on Secrets.
	SecretSelector labels.Selector
	// PublicGood provides the Sigstore public-good root to keyless
	// authorities without a trustedRoot; nil: such authorities do not
	// compile (air-gapped).
	PublicGood policy.PublicGoodSource
}

// Reconcile compiles the policy, records the result and comes back after
// the resync period to read the policy's Secrets again.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	obj, spec, status, ref := r.empty(req)
	if err := r.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := obj.DeepCopyObject().(client.Object)
	old := status.DeepCopy()
	var opts []policy.CompileOption
	if r.PublicGood != nil {
		opts = append(opts, policy.WithPublicGood(r.PublicGood))
	}
	p, err := policy.Compile(ctx, ref, spec, r.Secrets, opts...)
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
	setTrustRootCondition(status, p, obj.GetGeneration())
	next := ctrl.Result{RequeueAfter: r.resync()}
	// Every policy comes back each resync period; most find nothing new,
	// and an unchanged status is not written again.
	if apiequality.Semantic.DeepEqual(old, status) {
		return next, nil
	}
	if perr := r.Client.Status().Patch(ctx, obj, client.MergeFrom(before)); perr != nil {
		return ctrl.Result{}, client.IgnoreNotFound(perr)
	}
	return next, nil
}

func (r *Reconciler) resync() time.Duration {
	if r.Resync > 0 {
		return r.Resync
	}
	return DefaultResync
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

// setTrustRootCondition says whether the public-good root the policy's
// keyless authorities rely on is current; a policy relying on none (or not
// compiling) carries no such condition.
func setTrustRootCondition(status *igv1.TrustPolicyStatus, p *policy.Policy, gen int64) {
	var pg *policy.PublicGoodRoot
	if p != nil {
		pg = p.PublicGood()
	}
	if pg == nil {
		apimeta.RemoveStatusCondition(&status.Conditions, igv1.TrustRootStaleCondition)
		return
	}
	cond := metav1.Condition{Type: igv1.TrustRootStaleCondition, ObservedGeneration: gen}
	switch {
	case pg.Root == nil:
		cond.Status, cond.Reason = metav1.ConditionTrue, igv1.ReasonTrustRootUnavailable
		cond.Message = fmt.Sprintf("no Sigstore public-good trusted root (%v): keyless authorities without a trustedRoot are Unavailable until the TUF mirror answers", pg.Err)
	case pg.Err != nil:
		cond.Status, cond.Reason = metav1.ConditionTrue, igv1.ReasonTrustRootRefreshFailed
		cond.Message = fmt.Sprintf("refreshing the Sigstore public-good trusted root failed (%v): verifying with the last good root (%s, confirmed %s)", pg.Err, pg.Digest, refreshed(pg))
	default:
		cond.Status, cond.Reason = metav1.ConditionFalse, igv1.ReasonTrustRootRefreshed
		cond.Message = fmt.Sprintf("Sigstore public-good trusted root %s, confirmed %s", pg.Digest, refreshed(pg))
	}
	apimeta.SetStatusCondition(&status.Conditions, cond)
}

func refreshed(pg *policy.PublicGoodRoot) string {
	if pg.RefreshedAt.IsZero() {
		return "never"
	}
	return pg.RefreshedAt.UTC().Format(time.RFC3339)
}
