package admission

import (
	"context"
	"fmt"
	"time"

	"github.com/imagegate/imagegate/internal/verify"
)

// stepRecorded admits a digest that has an unexpired Verified
// ImageVerification under the policy that covers it now: the gate or
// another replica verified it, and the record (read from an informer
// cache) says so without a registry request. The record is keyed by the
// policy hash, so editing a policy or rotating a key in its Secret makes
// old records irrelevant.
func stepRecorded(ctx context.Context, d *deps, r *request, c *imageCheck) (verdict, bool) {
	img, err := c.image()
	if err != nil || img.Digest == "" {
		return verdict{}, false
	}
	pol, err := c.policy(r)
	if err != nil {
		return verdict{}, false
	}
	iv, ok, err := d.records.LookupVerified(ctx, img.Digest, pol.Hash)
	if err != nil {
		d.log.ErrorContext(ctx, "reading ImageVerification failed; verifying instead", "image", c.ref.Image, "error", err)
		return verdict{}, false
	}
	if !ok {
		return verdict{}, false
	}
	until := ""
	if iv.Status.ExpiresAt != nil {
		until = " until " + iv.Status.ExpiresAt.UTC().Format(time.RFC3339)
	}
	return verdict{Path: PathRecorded, Allowed: true, Reason: verify.ReasonRecorded, Policy: pol, Digest: img.Digest,
		Message: fmt.Sprintf("verified under %s %s, recorded by ImageVerification %s%s", pol.Ref.Kind, pol.Ref, iv.Name, until)}, true
}
