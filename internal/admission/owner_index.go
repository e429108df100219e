package admission

import (
	"context"
	"errors"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// OwnerIndex keeps, for every controller of the cluster (ReplicaSets,
// Jobs, StatefulSets, DaemonSets, ReplicationControllers, Deployments,
// CronJobs), what child approval reads and nothing else: one informer per
// kind whose transform turns each object into an ownerEntry before it is
// stored (owners.go). Clusters keep ten old ReplicaSets per Deployment,
// so this is the webhook's largest cache; the manager's informer cache
// would hold typed objects instead.
type OwnerIndex struct {
	stores map[groupKind]toolscache.Store
	ctrls  []toolscache.Controller
}

// NewOwnerIndex builds the informers, listing and watching through c (a
// client that reads the API server, not the manager's cache). Owners
// whose templates name more than maxImages distinct images keep none
// (templateKeys).
func NewOwnerIndex(c client.WithWatch, maxImages int) *OwnerIndex {
	x := &OwnerIndex{stores: map[groupKind]toolscache.Store{}}
	for _, k := range ownerKinds() {
		store, ctrl := toolscache.NewInformerWithOptions(toolscache.InformerOptions{
			ListerWatcher: listWatch(c, k.list),
			ObjectType:    k.obj,
			Handler:       toolscache.ResourceEventHandlerFuncs{},
			Transform:     compactOwner(maxImages),
		})
		x.stores[k.gk] = store
		x.ctrls = append(x.ctrls, ctrl)
	}
	return x
}

// listWatch lists in pages (as the reflector asks) and watches one kind.
func listWatch(c client.WithWatch, list func() client.ObjectList) *toolscache.ListWatch {
	return &toolscache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			l := list()
			err := c.List(ctx, l, &client.ListOptions{Raw: &opts, Limit: opts.Limit, Continue: opts.Continue})
			return l, err
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			return c.Watch(ctx, list(), &client.ListOptions{Raw: &opts})
		},
	}
}

// Start runs the informers until ctx ends (a manager.Runnable).
func (x *OwnerIndex) Start(ctx context.Context) error {
	done := make(chan struct{}, len(x.ctrls))
	for _, c := range x.ctrls {
		go func() {
			c.RunWithContext(ctx)
			done <- struct{}{}
		}()
	}
	for range x.ctrls {
		<-done
	}
	return nil
}

// NeedLeaderElection is false: every replica of the webhook answers
// reviews and needs its own index.
func (x *OwnerIndex) NeedLeaderElection() bool { return false }

// HasSynced reports whether every informer has listed once.
func (x *OwnerIndex) HasSynced() bool {
	for _, c := range x.ctrls {
		if !c.HasSynced() {
			return false
		}
	}
	return true
}

// WaitForSync blocks until the index has synced or ctx ends.
func (x *OwnerIndex) WaitForSync(ctx context.Context) error {
	if !toolscache.WaitForCacheSync(ctx.Done(), x.HasSynced) {
		return errors.New("admission: the owner index did not sync")
	}
	return nil
}

// Owner implements OwnerReader. The returned Owner shares the index's
// slice of keys: callers must not modify it.
func (x *OwnerIndex) Owner(_ context.Context, kind schema.GroupKind, namespace, name string) (Owner, bool, error) {
	store, ok := x.stores[groupKind{Group: kind.Group, Kind: kind.Kind}]
	if !ok {
		return Owner{}, false, nil
	}
	obj, found, err := store.GetByKey(namespace + "/" + name)
	if err != nil {
		return Owner{}, false, fmt.Errorf("reading %s %s/%s from the owner index: %w", kind.Kind, namespace, name, err)
	}
	if !found {
		return Owner{}, false, nil
	}
	e, ok := obj.(*ownerEntry)
	if !ok {
		return Owner{}, false, fmt.Errorf("the owner index holds a %T for %s %s/%s, not an owner entry", obj, kind.Kind, namespace, name)
	}
	return Owner{UID: e.uid, Images: e.images}, true, nil
}

// Len is how many owners the index holds (benchmarks and tests).
func (x *OwnerIndex) Len() int {
	n := 0
	for _, s := range x.stores {
		n += len(s.ListKeys())
	}
	return n
}
