package admission

import (
	"context"
	"fmt"
	"time"

	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/verify"
)

// stepRecorded admits a digest that has an unexpired Verified
// ImageVerification under every policy that judges it now: the gate or
// another replica verified it, and the records (read from an informer
// cache) say so without a registry request. Records are keyed by the
// policy hash, so editing a policy or rotating a key in its Secret makes
// old records irrelevant; a record under the tenant's policy alone never
// stands in for the cluster floor's.
func stepRecorded(ctx context.Context, d *deps, r *request, c *imageCheck) (verdict, bool) {
	img, err := c.image()
	if err != nil || img.Digest == "" {
		return verdict{}, false
	}
	pols, err := c.policies(ctx, d, r)
	if err != nil {
		return verdict{}, false
	}
	var buf [2]verdict // the floor and the namespace's policy
	vs := buf[:0]
	for _, pol := range pols {
		v, ok := d.recorded(ctx, c, pol, img.Digest)
		if !ok {
			return verdict{}, false
		}
		vs = append(vs, v)
	}
	return combine(vs), true
}

// recorded is the verdict of pol's record of digest, if it has one.
func (d *deps) recorded(ctx context.Context, c *imageCheck, pol *policy.Policy, digest string) (verdict, bool) {
	iv, ok, err := d.records.LookupVerified(ctx, digest, pol.Hash)
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
	return verdict{Path: PathRecorded, Allowed: true, Reason: verify.ReasonRecorded, Policy: pol, Digest: digest,
		Message: fmt.Sprintf("verified under %s %s, recorded by ImageVerification %s%s", pol.Ref.Kind, pol.Ref, iv.Name, until)}, true
}
