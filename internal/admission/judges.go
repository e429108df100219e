package admission

import (
	"context"
	"strings"

	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/records"
)

// policies returns the policies that judge the image in the request's
// namespace, each of which must admit it (policy.Set.Match: the cluster
// floor, then the namespace's own policy). A digest outranks a tag
// (policy.MatchPinned): the tag of repo:tag@digest counts only when a
// record or a resolve shows it names the digest, and the image is then
// kept as proven.
func (c *imageCheck) policies(ctx context.Context, d *deps, r *request) ([]*policy.Policy, error) {
	if !c.didMatch {
		c.didMatch = true
		img, err := c.image()
		switch {
		case err != nil:
			c.polErr = err
		case r.set == nil:
			c.polErr = errPoliciesNotLoaded
		default:
			match := func(img policy.Image) ([]*policy.Policy, error) { return r.set.Match(img, r.Namespace) }
			shown := func(proven policy.Image, pols []*policy.Policy) bool { return d.tagShown(ctx, r, proven, pols) }
			c.parsed, c.pols, c.polErr = policy.MatchPinned(img, match, shown)
		}
	}
	return c.pols, c.polErr
}

// tagShown reports whether the tag of img is shown to name its digest: a
// record of the digest under one of pols names the same tag (records keep
// a tag only when it was shown), or the registry says so now, asked with
// the pod's pull credentials.
func (d *deps) tagShown(ctx context.Context, r *request, img policy.Image, pols []*policy.Policy) bool {
	for _, p := range pols {
		iv, ok, err := d.records.LookupVerified(ctx, img.Digest, p.Hash)
		if err == nil && ok && records.TagShown(iv.Spec.Image, iv.Spec.Digest, img) {
			return true
		}
	}
	chk, err := d.checkerFor(ctx, r)
	return err == nil && chk.TagNamesDigest(ctx, img)
}

// combine folds the verdicts of the policies that judge one image into
// one: the image is admitted only when every policy admits it, and the
// verdict shown is the strictest (a denial, then a warn-mode admission,
// then an exception, then a verification made now, then a record).
func combine(vs []verdict) verdict {
	best := vs[0]
	var warnings []string
	for _, v := range vs {
		if v.Warning != "" {
			warnings = append(warnings, v.Warning)
		}
		if severity(v) > severity(best) {
			best = v
		}
	}
	if len(warnings) > 0 {
		best.Warning = strings.Join(warnings, "; ")
	}
	return best
}

func severity(v verdict) int {
	switch {
	case !v.Allowed:
		return 5
	case v.Warn:
		return 4
	case v.Path == PathException:
		return 3
	case v.Path == PathVerified:
		return 2
	}
	return 1
}
