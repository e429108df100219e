package trust

import (
	"context"
	"fmt"

	toolscache "k8s.io/client-go/tools/cache"
	ctrlcache "sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
)

// Watch hooks the store to the informers of TrustPolicy and
// ClusterTrustPolicy: a policy added or deleted, or whose spec changed
// (its generation), triggers a reload. Status writes, which the policy
// status controller makes for every policy, trigger nothing. Call it
// before the cache starts.
func (s *Store) Watch(ctx context.Context, informers ctrlcache.Informers) error {
	handler := toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { s.Trigger() },
		UpdateFunc: func(oldObj, newObj any) {
			o, ok1 := oldObj.(client.Object)
			n, ok2 := newObj.(client.Object)
			if !ok1 || !ok2 || o.GetGeneration() != n.GetGeneration() || o.GetUID() != n.GetUID() {
				s.Trigger()
			}
		},
		DeleteFunc: func(any) { s.Trigger() },
	}
	for _, obj := range []client.Object{&igv1.TrustPolicy{}, &igv1.ClusterTrustPolicy{}} {
		inf, err := informers.GetInformer(ctx, obj)
		if err != nil {
			return fmt.Errorf("informer for %T: %w", obj, err)
		}
		if _, err := inf.AddEventHandler(handler); err != nil {
			return fmt.Errorf("watching %T: %w", obj, err)
		}
	}
	return nil
}
