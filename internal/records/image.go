package records

import (
	"github.com/imagegate/imagegate/internal/cache"
	"github.com/imagegate/imagegate/internal/policy"
)

// recordedImage is the reference a record names, in canonical form
// (policy.ParseImage: one name per repository, Docker Hub as docker.io),
// pinned to the digest verified. A tag is kept only when the verification showed that it names the
// digest: a tag-only reference resolved now, or a pinned one whose tag was
// proven. The tag of repo:tag@digest taken on trust is dropped, so that a
// record's tag is evidence the webhook can rely on (TagShown).
func recordedImage(d cache.Decision) string {
	img := d.Parsed
	if img.Repository == "" {
		return d.Image
	}
	if img.PinnedWithTag() {
		img.Tag = ""
	}
	img.Digest = d.Digest
	return img.String()
}

// TagShown reports whether a record's image shows that the tag of img
// names img's digest: the record is of that digest and names the same
// repository and tag, which Record writes only when it was shown.
func TagShown(recordImage, recordDigest string, img policy.Image) bool {
	if img.Tag == "" || recordDigest != img.Digest {
		return false
	}
	ri, err := policy.ParseImage(recordImage)
	return err == nil && ri.Repository == img.Repository && ri.Tag == img.Tag
}
