package admission

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
	ctrlcache "sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/cache"
	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/records"
	"github.com/imagegate/imagegate/internal/registry"
	"github.com/imagegate/imagegate/internal/secrets"
	"github.com/imagegate/imagegate/internal/verify"
)

// DefaultPath is where the webhook serves reviews.
const DefaultPath = "/validate"

// CacheOptions are the manager cache options the webhook needs: owner
// kinds slimmed to what the child step reads, and no deep copies on read
// of owners and ImageVerifications (the webhook never modifies them), so
// a lookup costs neither an API call nor a copy.
func CacheOptions() ctrlcache.Options {
	by := map[client.Object]ctrlcache.ByObject{
		&igv1.ImageVerification{}: {UnsafeDisableDeepCopy: ptr.To(true), Transform: ctrlcache.TransformStripManagedFields()},
	}
	for _, o := range ownerKinds() {
		by[o] = ctrlcache.ByObject{UnsafeDisableDeepCopy: ptr.To(true), Transform: slimOwner}
	}
	return ctrlcache.Options{ByObject: by}
}

// SetupOptions configure Setup.
type SetupOptions struct {
	Options
	// Path the handler is served at; default DefaultPath.
	Path string
	// PolicyResync; default DefaultPolicyResync.
	PolicyResync time.Duration
	// Registerer for the metrics; nil registers none.
	Registerer prometheus.Registerer
	// PublicGood provides the Sigstore public-good root to keyless
	// authorities without a trustedRoot; nil: such policies do not compile.
	PublicGood policy.PublicGoodSource
}

// Webhook is the admission webhook wired into a manager.
type Webhook struct {
	Handler  *Handler
	Policies *PolicyStore
	Checker  *cache.Checker
	ready    atomic.Bool
}

// Setup wires the webhook into mgr, whose cache must have been built with
// CacheOptions: informers for policies, ImageVerifications and owner
// kinds, a policy store recompiled on change, the handler (verifying
// through checker, which reads registries through reg; nil builds one with
// the default TTLs) registered on mgr's webhook server, and a readiness
// check that passes once the caches synced and the policies compiled.
// ctx bounds the informer registration only (GetInformer does not block
// before the cache starts).
func Setup(ctx context.Context, mgr manager.Manager, reg *registry.Client, checker *cache.Checker, o SetupOptions) (*Webhook, error) {
	if o.Path == "" {
		o.Path = DefaultPath
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if checker == nil {
		checker = cache.NewChecker(reg, verify.New(reg), cache.CheckerOptions{})
	}
	store := records.NewStore(mgr.GetCache(), mgr.GetClient(), checker.TTL, o.Now)
	wh := &Webhook{Checker: checker, Policies: NewPolicyStore(mgr.GetCache(), secrets.Reader{Client: mgr.GetAPIReader()}, o.Log, o.PolicyResync)}
	if o.PublicGood != nil {
		wh.Policies.SetPublicGood(o.PublicGood)
	}
	if o.Registerer != nil {
		m, err := NewMetrics(o.Registerer, checker.Collectors(reg.Requests)...)
		if err != nil {
			return nil, err
		}
		o.Metrics = m
	}
	var owners OwnerReader = CacheOwners{Reader: mgr.GetCache()}
	h, err := NewHandler(Deps{Policies: wh.Policies, Owners: owners, Records: store, Checker: checker, Recorder: store}, o.Options)
	if err != nil {
		return nil, err
	}
	wh.Handler = h
	if err := wh.watch(ctx, mgr, o.PodsOnly); err != nil {
		return nil, err
	}
	mgr.GetWebhookServer().Register(o.Path, h)
	if err := mgr.Add(manager.RunnableFunc(func(ctx context.Context) error { return wh.run(ctx, mgr) })); err != nil {
		return nil, fmt.Errorf("adding the policy store to the manager: %w", err)
	}
	if err := mgr.AddReadyzCheck("admission", wh.Ready); err != nil {
		return nil, fmt.Errorf("adding the admission readiness check: %w", err)
	}
	return wh, nil
}

// watch registers the informers before the manager starts, so that the
// cache syncs them all before the runnables start, and hooks policy
// changes to a recompile. With --pods-only no owner is read (controllers
// are not checked, so their templates prove nothing).
func (wh *Webhook) watch(ctx context.Context, mgr manager.Manager, podsOnly bool) error {
	objs := []client.Object{&igv1.ImageVerification{}}
	if !podsOnly {
		objs = append(objs, ownerKinds()...)
	}
	for _, obj := range objs {
		if _, err := mgr.GetCache().GetInformer(ctx, obj); err != nil {
			return fmt.Errorf("informer for %T: %w", obj, err)
		}
	}
	trigger := toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { wh.Policies.Trigger() },
		UpdateFunc: func(any, any) { wh.Policies.Trigger() },
		DeleteFunc: func(any) { wh.Policies.Trigger() },
	}
	for _, obj := range []client.Object{&igv1.TrustPolicy{}, &igv1.ClusterTrustPolicy{}} {
		inf, err := mgr.GetCache().GetInformer(ctx, obj)
		if err != nil {
			return fmt.Errorf("informer for %T: %w", obj, err)
		}
		if _, err := inf.AddEventHandler(trigger); err != nil {
			return fmt.Errorf("watching %T: %w", obj, err)
		}
	}
	return nil
}

// run loads the policies once the caches have synced, marks the webhook
// ready, and keeps the policies current.
func (wh *Webhook) run(ctx context.Context, mgr manager.Manager) error {
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		return errors.New("admission: caches did not sync")
	}
	if err := wh.Policies.Load(ctx); err != nil {
		return fmt.Errorf("admission: first load of the trust policies: %w", err)
	}
	wh.ready.Store(true)
	return wh.Policies.Run(ctx)
}

// ErrNotReady is the readiness check's answer before the caches synced
// and the policies compiled.
var ErrNotReady = errors.New("admission webhook not ready: caches syncing or trust policies not compiled yet")

// Ready is a healthz.Checker: nil once the webhook can decide.
func (wh *Webhook) Ready(*http.Request) error {
	if !wh.ready.Load() {
		return ErrNotReady
	}
	return nil
}
