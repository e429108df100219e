package gate

import (
	"context"
	"errors"
	"fmt"
	"time"

	imagev1 "github.com/fluxcd/image-reflector-controller/api/v1"
	"github.com/fluxcd/pkg/runtime/conditions"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/cache"
	"github.com/imagegate/imagegate/internal/gitrepo"
	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/records"
	"github.com/imagegate/imagegate/internal/setters"
)

// Reconciler reconciles ImageGates.
type Reconciler struct {
	Client client.Client
	// Secrets reads Git credentials, signing keys and the keys trust
	// policies name, each by name when needed: the manager's API reader,
	// so that the controller needs get on Secrets, never list or watch.
	// Default Client.
	Secrets client.Reader
	Checker *cache.Checker
	Records *records.Store
	// Events records events about ImageGates and their selections'
	// ImagePolicies (fluxcd/pkg/runtime's events.Recorder: Kubernetes
	// Events, and notification-controller when it has an address).
	Events EventRecorder
	// KubeEvents records the ImageGate's copy of each selection's event
	// as a Kubernetes Event only: notification-controller gets the
	// ImagePolicy's copy from Events, once. Nil: no copy.
	KubeEvents EventRecorder
	Metrics    *Metrics
	// Git writes commits; default gitrepo.Update.
	Git GitWriter
	Now func() time.Time
	// NoCrossNamespaceRefs refuses a sourceRef into another namespace,
	// whose Git credentials the ImageGate's owner may not be meant to use.
	NoCrossNamespaceRefs bool
	// RetryInterval bounds the wait before a blocked or failed selection is
	// tried again; default 30s.
	RetryInterval time.Duration
	// Setters bounds what setter rewriting parses, shared by all
	// reconciles; default setters.DefaultLimits.
	Setters *setters.Budget
	// MaxGitTimeout caps a GitRepository's spec.timeout, which its owner
	// sets: without a cap a tenant's hung server could hold a reconcile
	// worker for hours. Zero means no cap.
	MaxGitTimeout time.Duration
	// PublicGood provides the Sigstore public-good root to keyless
	// authorities without a trustedRoot; nil: such policies do not
	// compile (air-gapped).
	PublicGood policy.PublicGoodSource
}

// GitWriter writes one change to a repository (gitrepo.Update).
type GitWriter interface {
	Update(ctx context.Context, cfg gitrepo.Config, change gitrepo.Change) (gitrepo.Result, error)
}

type defaultGit struct{}

func (defaultGit) Update(ctx context.Context, cfg gitrepo.Config, change gitrepo.Change) (gitrepo.Result, error) {
	return gitrepo.Update(ctx, cfg, change)
}

func (r *Reconciler) git() GitWriter {
	if r.Git != nil {
		return r.Git
	}
	return defaultGit{}
}

// run holds the state of one reconcile of one ImageGate.
type run struct {
	gate       *igv1.ImageGate
	policies   []imagev1.ImagePolicy
	selections []selection
	retry      bool // something transient failed: come back soon
	start      time.Time
	progress   string // the Reconciling message of this run
}

// Reconcile runs one pass of the gate: select, verify, write, record.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var gate igv1.ImageGate
	if err := r.Client.Get(ctx, req.NamespacedName, &gate); err != nil {
		if apierrors.IsNotFound(err) {
			r.Metrics.forget(req.Namespace, req.Name)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if gate.Spec.Suspend {
		ctrl.LoggerFrom(ctx).V(1).Info("suspended")
		return ctrl.Result{}, nil
	}
	start := r.now()
	rn := &run{gate: &gate, start: start}
	if err := r.startRun(ctx, rn); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := gate.DeepCopy()
	result, err := r.reconcile(ctx, rn)
	r.finish(rn, err)
	if perr := r.Client.Status().Patch(ctx, &gate, client.MergeFrom(before)); perr != nil && !apierrors.IsNotFound(perr) {
		err = errors.Join(err, fmt.Errorf("patching status: %w", perr))
	}
	r.Metrics.observeReconcile(&gate, r.now().Sub(start))
	if errors.Is(err, errStalled) {
		return ctrl.Result{}, nil // configuration errors wait for a change
	}
	return result, err
}

// reconcile runs the phases; errors wrapped in errStalled need a change
// to the configuration, others are retried.
func (r *Reconciler) reconcile(ctx context.Context, rn *run) (ctrl.Result, error) {
	src, err := r.source(ctx, rn.gate)
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := r.selectPolicies(ctx, rn); err != nil {
		return ctrl.Result{}, err
	}
	if err := r.verifySelections(ctx, rn); err != nil {
		return ctrl.Result{}, err
	}
	if err := r.writeToGit(ctx, rn, src); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: r.requeueAfter(rn)}, nil
}

func (r *Reconciler) requeueAfter(rn *run) time.Duration {
	interval := rn.gate.Spec.Interval.Duration
	if interval <= 0 {
		interval = 5 * time.Minute
	}
	if retry := r.retryInterval(); (rn.retry || blockedCount(rn.selections) > 0) && retry < interval {
		return retry
	}
	return interval
}

func (r *Reconciler) retryInterval() time.Duration {
	if r.RetryInterval > 0 {
		return r.RetryInterval
	}
	return 30 * time.Second
}

func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// finish maps the outcome of a run to status and conditions, in one place.
func (r *Reconciler) finish(rn *run, err error) {
	g := rn.gate
	defer r.readyEvent(rn, readyBefore(g), err)
	g.Status.ObservedGeneration = g.Generation
	if v, ok := g.Annotations[requestedAtAnnotation]; ok {
		g.Status.LastHandledReconcileAt = v
	}
	switch {
	case errors.Is(err, errStalled):
		r.markProgress(rn, false)
		conditions.MarkTrue(g, igv1.StalledCondition, reasonOf(err), "%s", err.Error())
		conditions.MarkFalse(g, igv1.ReadyCondition, reasonOf(err), "%s", err.Error())
		return
	case err != nil:
		r.markProgress(rn, true)
		conditions.Delete(g, igv1.StalledCondition)
		conditions.MarkFalse(g, igv1.ReadyCondition, reasonOf(err), "%s", err.Error())
		return
	}
	r.markProgress(rn, false)
	conditions.Delete(g, igv1.StalledCondition)
	g.Status.ObservedPolicies = observedPolicies(rn.selections)
	r.markBlocked(rn)
	conditions.MarkTrue(g, igv1.ReadyCondition, igv1.ReasonSucceeded, "%s", summary(rn.selections))
}
