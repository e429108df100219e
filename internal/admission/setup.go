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
	"k8s.io/utils/ptr"
	ctrlcache "sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/cache"
	"github.com/imagegate/imagegate/internal/credentials"
	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/records"
	"github.com/imagegate/imagegate/internal/registry"
	"github.com/imagegate/imagegate/internal/secrets"
	"github.com/imagegate/imagegate/internal/verify"
)

// DefaultPath is where the webhook serves reviews.
const DefaultPath = "/validate"

// CacheOptions are the manager cache options the webhook needs: no deep
// copies on read of ImageVerifications (the webhook never modifies them),
// so a lookup costs neither an API call nor a copy. Owners are not in the
// manager's cache: they have an index of their own (OwnerIndex).
func CacheOptions() ctrlcache.Options {
	return ctrlcache.Options{ByObject: map[client.Object]ctrlcache.ByObject{
		&igv1.ImageVerification{}: {UnsafeDisableDeepCopy: ptr.To(true), Transform: ctrlcache.TransformStripManagedFields()},
	}}
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
	// Credentials reads each pod spec's pull credentials; nil builds a
	// credentials.Resolver reading through the manager's API reader.
	Credentials PullCredentials
	// PublicGood provides the Sigstore public-good root to keyless
	// authorities without a trustedRoot; nil: such policies do not compile.
	PublicGood policy.PublicGoodSource
}

// Webhook is the admission webhook wired into a manager.
type Webhook struct {
	Handler  *Handler
	Policies *PolicyStore
	Checker  *cache.Checker
	// Owners is nil with PodsOnly.
	Owners *OwnerIndex
	ready  atomic.Bool
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
	var owners OwnerReader
	if !o.PodsOnly {
		idx, err := newOwnerIndex(mgr, o.MaxImagesPerObject)
		if err != nil {
			return nil, err
		}
		wh.Owners, owners = idx, idx
	}
	if o.Credentials == nil {
		o.Credentials = credentials.New(credentials.Options{Reader: mgr.GetAPIReader(), Registry: reg, Checker: checker})
	}
	h, err := NewHandler(Deps{Policies: wh.Policies, Owners: owners, Records: store, Checker: checker, Recorder: store, Credentials: o.Credentials}, o.Options)
	if err != nil {
		return nil, err
	}
	wh.Handler = h
	if err := wh.watch(ctx, mgr); err != nil {
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

// newOwnerIndex builds the owner index on a client of its own (the
// manager's client would read, and start informers in, the manager's
// cache) and runs it with the manager. With --pods-only there is none
// (controllers are not checked, so their templates prove nothing).
func newOwnerIndex(mgr manager.Manager, maxImages int) (*OwnerIndex, error) {
	if maxImages <= 0 {
		maxImages = DefaultMaxImagesPerObject
	}
	c, err := client.NewWithWatch(mgr.GetConfig(), client.Options{Scheme: mgr.GetScheme(), Mapper: mgr.GetRESTMapper(), HTTPClient: mgr.GetHTTPClient()})
	if err != nil {
		return nil, fmt.Errorf("client of the owner index: %w", err)
	}
	idx := NewOwnerIndex(c, maxImages)
	if err := mgr.Add(idx); err != nil {
		return nil, fmt.Errorf("adding the owner index to the manager: %w", err)
	}
	return idx, nil
}

// watch registers the informers before the manager starts, so that the
// cache syncs them all before the runnables start, and hooks policy
// changes to a recompile.
func (wh *Webhook) watch(ctx context.Context, mgr manager.Manager) error {
	if _, err := mgr.GetCache().GetInformer(ctx, &igv1.ImageVerification{}); err != nil {
		return fmt.Errorf("informer for ImageVerifications: %w", err)
	}
	return wh.Policies.Watch(ctx, mgr.GetCache())
}

// run loads the policies once the caches have synced, marks the webhook
// ready, and keeps the policies current.
func (wh *Webhook) run(ctx context.Context, mgr manager.Manager) error {
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		return errors.New("admission: caches did not sync")
	}
	if wh.Owners != nil {
		if err := wh.Owners.WaitForSync(ctx); err != nil {
			return err
		}
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
