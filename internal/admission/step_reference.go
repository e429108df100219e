package admission

import (
	"context"

	"github.com/imagegate/imagegate/internal/verify"
)

// stepEmptyReference denies an empty reference, which names nothing to
// check or pull. The API server refuses empty container images, and empty
// image-volume references on new objects, but lets an UPDATE keep an
// empty image-volume reference that the old object already had (pod
// validation's AllowEmptyImageVolumeReference). Without this step that
// update would pass as unchanged ("" is the old "") or as its owner's
// child, so it runs before both; exempt namespaces still come first.
func stepEmptyReference(_ context.Context, _ *deps, _ *request, c *imageCheck) (verdict, bool) {
	if c.ref.Image != "" {
		return verdict{}, false
	}
	return verdict{Path: PathDenied, Reason: verify.ReasonInvalidReference,
		Message: "the reference is empty: there is no image to verify, and none a runtime could pull"}, true
}
