package admission

import (
	"context"
	"fmt"

	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/verify"
)

// stepExempt admits images of exempt namespaces and images matching an
// exempt glob. Exemptions are the operator's, on the command line: the
// webhook's own namespace must stay exempt so that it can start when it is
// down (failurePolicy Fail).
func stepExempt(ctx context.Context, d *deps, r *request, c *imageCheck) (verdict, bool) {
	if d.exemptNamespaces[r.Namespace] {
		return verdict{Path: PathExempt, Allowed: true, Reason: verify.ReasonExempt,
			Message: fmt.Sprintf("namespace %q is exempt", r.Namespace)}, true
	}
	if len(d.exemptImages) == 0 {
		return verdict{}, false
	}
	img, err := c.image()
	if err != nil {
		return verdict{}, false
	}
	for _, g := range d.exemptImages {
		if g.Match(img) {
			return exempt(g), true
		}
	}
	// repo:tag@digest is pulled by its digest: a tag-scoped exempt glob
	// covers it only if the registry says the tag names that digest.
	if !img.PinnedWithTag() {
		return verdict{}, false
	}
	proven := img.TagProven()
	for _, g := range d.exemptImages {
		if g.Match(proven) {
			if !d.checker.TagNamesDigest(ctx, img) {
				return verdict{}, false
			}
			return exempt(g), true
		}
	}
	return verdict{}, false
}

func exempt(g policy.Glob) verdict {
	return verdict{Path: PathExempt, Allowed: true, Reason: verify.ReasonExempt,
		Message: fmt.Sprintf("image matches exempt glob %q", g.String())}
}
