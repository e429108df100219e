package admission

import (
	"context"
	"fmt"
	"strings"

	"github.com/imagegate/imagegate/internal/verify"

	"github.com/imagegate/imagegate/internal/policy"
)

// stepUnchanged admits, on UPDATE, a reference the object already held:
// GitOps tools re-apply every workload every few minutes, and re-checking
// what was admitted before only loads registries. References are compared
// parsed, so "nginx" and "docker.io/library/nginx:latest" are one
// image, and two references with the same repository and digest are one
// image whatever their tags. A reference that gained a digest for the same
// tag (repo:tag -> repo:tag@d) is unchanged only if d has an unexpired
// Verified record under every policy that judges it: the tag might have pointed
// elsewhere when the old object was admitted.
func stepUnchanged(ctx context.Context, d *deps, r *request, c *imageCheck) (verdict, bool) {
	if r.Operation != opUpdate || !r.OldObject.Present {
		return verdict{}, false
	}
	for _, o := range r.oldImages {
		if o.Image == c.ref.Image {
			return unchanged("the reference is unchanged"), true
		}
	}
	img, err := c.image()
	if err != nil {
		return verdict{}, false
	}
	gained := false
	for _, o := range r.oldReferences() {
		switch {
		case o.Repository == "":
			continue // the old reference did not parse
		case sameImage(o, img):
			return unchanged("the reference is unchanged (" + o.String() + ")"), true
		case o.Digest == "" && img.Digest != "" && o.Repository == img.Repository && o.Tag == img.Tag:
			gained = true
		}
	}
	if !gained {
		return verdict{}, false
	}
	pols, err := c.policies(ctx, d, r)
	if err != nil {
		return verdict{}, false
	}
	names := make([]string, 0, len(pols))
	for _, pol := range pols {
		iv, ok, err := d.records.LookupVerified(ctx, img.Digest, pol.Hash)
		if err != nil || !ok {
			return verdict{}, false
		}
		names = append(names, iv.Name)
	}
	v := unchanged(fmt.Sprintf("the tag gained digest %s, recorded as verified by ImageVerification %s", img.Digest, strings.Join(names, " and ")))
	v.Policy, v.Digest = pols[0], img.Digest
	return v, true
}

func unchanged(msg string) verdict {
	return verdict{Path: PathUnchanged, Allowed: true, Reason: verify.ReasonUnchanged, Message: msg}
}

// sameImage reports whether two parsed references name the same image:
// the same repository and digest, or, without digests, the same tag.
func sameImage(a, b policy.Image) bool {
	if a.Repository != b.Repository {
		return false
	}
	if a.Digest != "" || b.Digest != "" {
		return a.Digest == b.Digest
	}
	return a.Tag == b.Tag
}
