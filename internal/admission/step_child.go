package admission

import (
	"context"
	"fmt"

	"github.com/imagegate/imagegate/internal/verify"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// stepChild admits, on CREATE, an image that the object's controller holds
// in its pod template: a ReplicaSet's Pods, a Deployment's ReplicaSets, a
// CronJob's Jobs. The owner was admitted with that template, so its
// children need no registry request. The owner is read from the owner
// index (owner_index.go), its images compared as sameImage compares them,
// and it must carry the UID of the controller reference, so a Pod cannot
// borrow the approval of another object of the same name. An owner the
// index does not hold yet is not an error: the next steps decide.
func stepChild(ctx context.Context, d *deps, r *request, c *imageCheck) (verdict, bool) {
	if r.Operation != opCreate || len(r.info.owners) == 0 || d.owners == nil {
		return verdict{}, false
	}
	ref, ok := r.Object.controller()
	if !ok || ref.UID == "" {
		return verdict{}, false
	}
	gk, ok := ownerKind(ref, r.info.owners)
	if !ok {
		return verdict{}, false
	}
	owner, found, err := d.owners.Owner(ctx, schema.GroupKind{Group: gk.Group, Kind: gk.Kind}, r.Namespace, ref.Name)
	if err != nil || !found || owner.UID != ref.UID {
		return verdict{}, false
	}
	img, err := c.image()
	if err != nil || !owner.holds(img) {
		return verdict{}, false
	}
	return verdict{Path: PathChild, Allowed: true, Reason: verify.ReasonOwnerTemplate,
		Message: fmt.Sprintf("the pod template of %s %s/%s holds the reference", gk.Kind, r.Namespace, ref.Name)}, true
}
