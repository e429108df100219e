package gate

import (
	"context"
	"errors"
	"fmt"
	"time"

	imagev1 "github.com/fluxcd/image-reflector-controller/api/v1"
	"github.com/fluxcd/pkg/runtime/conditions"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/cache"
	"github.com/imagegate/imagegate/internal/credentials"
	"github.com/imagegate/imagegate/internal/githubapp"
	"github.com/imagegate/imagegate/internal/gitrepo"
	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/records"
	"github.com/imagegate/imagegate/internal/setters"
	"github.com/imagegate/imagegate/internal/trust"
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
	// Credentials gives each selection the registry access its
	// ImagePolicy's ImageRepository describes (credentials.Resolver). Nil:
	// every selection uses Checker, the process's credentials.
	Credentials Credentials
	Records     *records.Store
	// Policies is the compiled trust policies every reconcile shares,
	// reloaded from informer events and every resync period; nil makes
	// SetupWithManager build one that reads Secrets through Secrets.
	// A caller that runs Reconcile without the manager loads it itself.
	Policies *trust.Store
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
	// RetryInterval is the first wait before a blocked or failed selection
	// is tried again, when Retry.Base is not set; default 30s.
	RetryInterval time.Duration
	// Retry is the backoff of those retries: exponential with jitter,
	// bounded by Retry.Max and the gate's spec.interval, per ImageGate,
	// reset by a run that leaves nothing blocked.
	Retry   Backoff
	retries retries
	// Setters bounds what setter rewriting parses, shared by all
	// reconciles; default setters.DefaultLimits.
	Setters *setters.Budget
	// NoIdleCheck turns the idle check off: every run with admitted
	// selections clones and runs the setters, as before it existed
	// (controller flag --git-idle-check=false). On, a run whose inputs and
	// branch tips are those of the last run makes one ls-remote, or no Git
	// request when the GitRepository's artifact shows the tip (idle.go).
	NoIdleCheck bool
	// MaxGitTimeout caps a GitRepository's spec.timeout, which its owner
	// sets: without a cap a tenant's hung server could hold a reconcile
	// worker for hours. Zero means no cap.
	MaxGitTimeout time.Duration
	// GitHubTokens caches GitHub App installation tokens for GitRepositories
	// with provider: github, shared by all reconciles. The zero value works.
	GitHubTokens githubapp.Tokens
	// PublicGood provides the Sigstore public-good root to keyless
	// authorities without a trustedRoot; nil: such policies do not
	// compile (air-gapped).
	PublicGood policy.PublicGoodSource
}

// Credentials finds the registry access of a selection
// (credentials.Resolver).
type Credentials interface {
	ForPolicy(ctx context.Context, ip *imagev1.ImagePolicy) (credentials.Access, error)
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
			r.retries.reset(req.NamespacedName)
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

// requeueAfter is the gate's interval, or sooner, on the retry backoff,
// when a selection was blocked or could not be verified.
func (r *Reconciler) requeueAfter(rn *run) time.Duration {
	interval := rn.gate.Spec.Interval.Duration
	if interval <= 0 {
		interval = 5 * time.Minute
	}
	gate := types.NamespacedName{Namespace: rn.gate.Namespace, Name: rn.gate.Name}
	blocked := blockedKey(rn.selections)
	if !rn.retry && blocked == "" {
		r.retries.reset(gate)
		return interval
	}
	return min(r.backoff().Delay(r.retries.next(gate, blocked)), interval)
}

func (r *Reconciler) backoff() Backoff {
	b := r.Retry
	if b.Base <= 0 && r.RetryInterval > 0 {
		b.Base = r.RetryInterval
	}
	return b
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
