package policy

import (
	"fmt"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
)

// Broken is a policy that does not compile (a Secret missing, a key that
// does not parse). It keeps the images its globs cover: they are denied
// with its error, never handed to a less specific policy that would judge
// them more leniently than their own policy meant to.
type Broken struct {
	Ref    Ref
	Images []Glob
	Err    error
}

// NewBroken keeps what can be kept of a policy Compile refused with err:
// its image globs. ok is false when even those do not parse (then the
// policy covers nothing; CRD validation refuses such globs anyway).
func NewBroken(ref Ref, spec *igv1.TrustPolicySpec, err error) (Broken, bool) {
	globs, gerr := compileGlobs(spec.Images)
	if gerr != nil {
		return Broken{}, false
	}
	return Broken{Ref: ref, Images: globs, Err: err}, true
}

// deny is the error for an image the broken policy covers most specifically.
func (b *Broken) deny(img Image) error {
	return fmt.Errorf("%s %s covers %s and does not compile, so the image is denied until it is fixed: %w", b.Ref.Kind, b.Ref, img, b.Err)
}
