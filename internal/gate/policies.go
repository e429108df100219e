package gate

import (
	"context"
	"fmt"

	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/secrets"
	"github.com/imagegate/imagegate/internal/trust"
)

// setupPolicies makes the reconciler's policy store (unless one was
// given), reloads it from the TrustPolicy and ClusterTrustPolicy
// informers and every resync period, and returns the source that
// enqueues the gates a reload affects. The gates are enqueued after the
// new set is in place, so the reconcile a policy change starts sees it;
// watching the policies directly would race the reload.
func (r *Reconciler) setupPolicies(mgr ctrl.Manager) (source.Source, error) {
	if r.Policies == nil {
		r.Policies = trust.NewStore(mgr.GetCache(), secrets.Reader{Client: r.secrets()}, nil, 0)
	}
	store := r.Policies
	if r.PublicGood != nil {
		store.SetPublicGood(r.PublicGood)
	}
	if err := store.Watch(context.Background(), mgr.GetCache()); err != nil {
		return nil, err
	}
	run := manager.RunnableFunc(func(ctx context.Context) error {
		if !mgr.GetCache().WaitForCacheSync(ctx) {
			return fmt.Errorf("gate: caches did not sync before the trust policies' first load")
		}
		return store.Run(ctx)
	})
	if err := mgr.Add(run); err != nil {
		return nil, fmt.Errorf("adding the gate's policy store to the manager: %w", err)
	}
	return &policySource{store: store, gates: r.gatesFor}, nil
}

// gatesFor maps a changed policy to the gates it may judge: a
// ClusterTrustPolicy judges every gate, a TrustPolicy its namespace's.
func (r *Reconciler) gatesFor(ctx context.Context, ref policy.Ref) []reconcile.Request {
	if ref.Namespace == "" {
		return r.gates(ctx)
	}
	return r.gates(ctx, client.InNamespace(ref.Namespace))
}

// policySource is the controller's source of policy changes. It is a
// syncing source so that the workers start only after the store's first
// load: a reconcile never sees "no policies" at startup.
type policySource struct {
	store *trust.Store
	gates func(context.Context, policy.Ref) []reconcile.Request
}

func (s *policySource) Start(ctx context.Context, queue workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
	s.store.OnChange(func(changed []policy.Ref) {
		seen := map[reconcile.Request]bool{}
		for _, ref := range changed {
			for _, req := range s.gates(ctx, ref) {
				if !seen[req] {
					seen[req] = true
					queue.Add(req)
				}
			}
		}
	})
	return nil
}

func (s *policySource) WaitForSync(ctx context.Context) error {
	select {
	case <-s.store.Loaded():
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for the first load of the trust policies: %w", ctx.Err())
	}
}

func (s *policySource) String() string { return "trust policy store" }
