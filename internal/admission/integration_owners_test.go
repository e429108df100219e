package admission

import (
	"context"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/imagegate/imagegate/internal/policy"
)

// TestOwnerIndexFollowsTheAPIServer: the webhook's owner index holds a
// ReplicaSet's UID and image keys once created, the new template's keys
// (and not the old ones) once it is updated, and nothing once it is
// deleted, so a child never borrows a template its owner no longer has.
func TestOwnerIndexFollowsTheAPIServer(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.clusterPolicy(t)
	web, api := f.signedImage(t, "web"), f.signedImage(t, "api")
	webImg, apiImg := mustParse(t, web.String()), mustParse(t, api.String())
	rsKind := appsv1.SchemeGroupVersion.WithKind("ReplicaSet").GroupKind()
	rs := replicaSet(f.ns, "web-5d", web.String())
	if err := f.cl.c.Create(t.Context(), rs); err != nil {
		t.Fatal(err)
	}
	owner := func(ctx context.Context) (Owner, bool, error) {
		return f.cl.wh.Owners.Owner(ctx, rsKind, rs.Namespace, rs.Name)
	}
	waitFor(t, "the ReplicaSet's image in the owner index", func(ctx context.Context) (bool, error) {
		o, found, err := owner(ctx)
		return found && o.UID == string(rs.UID) && o.holds(webImg) && len(o.Images) == 1, err
	})

	rs.Spec.Template.Spec.Containers[0].Image = api.String()
	if err := f.cl.c.Update(t.Context(), rs); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the ReplicaSet's new image, and only it, in the owner index", func(ctx context.Context) (bool, error) {
		o, found, err := owner(ctx)
		return found && o.holds(apiImg) && !o.holds(webImg) && len(o.Images) == 1, err
	})

	if err := f.cl.c.Delete(t.Context(), rs); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the ReplicaSet gone from the owner index", func(ctx context.Context) (bool, error) {
		_, found, err := owner(ctx)
		if err := f.cl.c.Get(ctx, client.ObjectKeyFromObject(rs), &appsv1.ReplicaSet{}); client.IgnoreNotFound(err) != nil {
			return false, err
		}
		return !found, err
	})
}

func mustParse(t *testing.T, ref string) policy.Image {
	t.Helper()
	img, err := policy.ParseImage(ref)
	if err != nil {
		t.Fatal(err)
	}
	return img
}
