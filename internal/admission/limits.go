package admission

import (
	"context"
	"fmt"

	"github.com/imagegate/imagegate/internal/verify"
)

// DefaultMaxImagesPerObject is how many distinct image references one
// object may name before it is denied unjudged. Kubernetes sets no limit
// (a Pod is bounded only by etcd's 1.5 MiB object size, room for tens of
// thousands of containers), while real Pods name fewer than 50 images
// across containers, init and ephemeral containers and image volumes; 256
// leaves a wide margin for generated workloads and keeps the worst request
// at 256 verifications, each bounded in bytes and in concurrency by the
// checker.
const DefaultMaxImagesPerObject = 256

// overImageCap denies an object that names more than max distinct images,
// before any of them is parsed, matched or looked up: a Pod of 20,000
// image strings costs a count, not 20,000 verifications.
func overImageCap(rv *review, refs []imageRef, maxImages int) (outcome, bool) {
	if !moreDistinctThan(refs, maxImages) {
		return outcome{}, false
	}
	return refused(verify.ReasonTooManyImages, fmt.Sprintf(
		"%s %q names %d images, more than %d of them distinct; imagegate checks at most %d distinct images per object (--max-images-per-object), so none was checked: split the workload, or raise the cap",
		rv.Kind, rv.displayName(), len(refs), maxImages, maxImages)), true
}

// oldImagesWithinCap drops the old object's images when they are over the
// cap: the unchanged step parses each of them, and an oldObject is as much
// the client's as the object when the webhook port is reached directly.
// Without them every image of the object is judged on its own, which only
// ever admits less.
func oldImagesWithinCap(old []imageRef, maxImages int) []imageRef {
	if moreDistinctThan(old, maxImages) {
		return nil
	}
	return old
}

// moreDistinctThan reports whether refs name more than n distinct images.
// Counting references first keeps the common case free; only more
// references than n pay for a set, which stops growing at n+1.
func moreDistinctThan(refs []imageRef, n int) bool {
	if len(refs) <= n {
		return false
	}
	distinct := make(map[string]struct{}, n+1)
	for _, ref := range refs {
		distinct[ref.Image] = struct{}{}
		if len(distinct) > n {
			return true
		}
	}
	return false
}

// judgeImages passes each distinct image of an object through the chain
// once: containers naming the same reference share its verdict, and each
// is still listed under its own name in audit lines and messages. Once
// the request's deadline has passed, the images not yet judged are
// denied as Unavailable without reaching the chain (nothing verified,
// cached or recorded), so a cancelled request stops working.
func (h *Handler) judgeImages(ctx context.Context, r *request, refs []imageRef) []imageResult {
	results := make([]imageResult, len(refs))
	var judged map[string]int // image -> index in results of its first container
	if len(refs) > 1 {
		judged = make(map[string]int, len(refs))
	}
	for i, ref := range refs {
		if j, ok := judged[ref.Image]; ok {
			results[i] = imageResult{ref: ref, v: results[j].v}
			continue
		}
		results[i] = imageResult{ref: ref, v: h.judgeImage(ctx, r, ref)}
		if judged != nil {
			judged[ref.Image] = i
		}
	}
	return results
}

func (h *Handler) judgeImage(ctx context.Context, r *request, ref imageRef) verdict {
	if err := ctx.Err(); err != nil {
		return verdict{Path: PathDenied, Reason: verify.ReasonUnavailable,
			Message: fmt.Sprintf("the request's deadline passed before this image was judged (%v); transient: retry", err)}
	}
	c := imageCheck{ref: ref, parser: &h.deps.parsed}
	return h.deps.run(ctx, r, &c)
}
