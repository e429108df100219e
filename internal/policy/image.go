package policy

import (
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
)

// Image is a normalised image reference split into the parts policies
// match on: "nginx" is {index.docker.io/library/nginx, latest, ""}.
type Image struct {
	Repository string // registry and path, e.g. "index.docker.io/library/nginx"
	Tag        string // empty when the reference names only a digest
	Digest     string // "sha256:<hex>", empty for a tag-only reference
}

// ParseImage normalises a reference as a container runtime would.
// "repo:tag@sha256:..." keeps both the tag and the digest.
func ParseImage(ref string, opts ...name.Option) (Image, error) {
	r, err := name.ParseReference(ref, opts...)
	if err != nil {
		return Image{}, fmt.Errorf("image reference %q: %w", ref, err)
	}
	img := Image{Repository: r.Context().Name()}
	switch v := r.(type) {
	case name.Digest:
		img.Digest = v.DigestStr()
		img.Tag = tagOf(ref, img.Repository)
	case name.Tag:
		img.Tag = v.TagStr()
	}
	return img, nil
}

// tagOf extracts the tag of "repo:tag@digest", which name.Digest drops.
func tagOf(ref, _ string) string {
	at := -1
	for i := len(ref) - 1; i >= 0; i-- {
		if ref[i] == '@' {
			at = i
			break
		}
	}
	if at < 0 {
		return ""
	}
	base := ref[:at]
	for i := len(base) - 1; i >= 0; i-- {
		switch base[i] {
		case ':':
			return base[i+1:]
		case '/':
			return ""
		}
	}
	return ""
}

// String renders repository:tag@digest with the parts present.
func (i Image) String() string {
	s := i.Repository
	if i.Tag != "" {
		s += ":" + i.Tag
	}
	if i.Digest != "" {
		s += "@" + i.Digest
	}
	return s
}
