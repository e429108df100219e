package policy

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// DockerHub is the one name imagegate gives Docker Hub's registry, in
// records, trailers, audit lines and matching: the name container runtimes
// print (distribution/reference's default domain). index.docker.io and
// registry-1.docker.io are folded into it.
const DockerHub = "docker.io"

// Image is a reference in canonical form, split into the parts policies
// match on: "nginx" is {docker.io/library/nginx, latest, ""}.
//
// A reference that carries both a tag and a digest is pulled by its
// digest: the runtime ignores the tag, which need not exist. Such an Image
// is matched as repository@digest until TagProven says a record or a
// resolve showed that the tag names that digest; only then do tag-scoped
// globs apply to it.
type Image struct {
	Repository string // canonical registry and path, e.g. "docker.io/library/nginx"
	Tag        string // empty when the reference names only a digest
	Digest     string // "sha256:<hex>", empty for a tag-only reference
	tagProven  bool
}

// ParseImage parses a reference as a container runtime would and returns
// it in canonical form: the registry host lower-cased, an explicit :443
// dropped, Docker Hub's aliases folded into DockerHub with its implied
// library/ namespace. "repo:tag@sha256:..." keeps both the tag and the
// digest.
func ParseImage(ref string, opts ...name.Option) (Image, error) {
	var r name.Reference
	var err error
	// ParseReference tries a tag first, which cannot hold "@", and builds
	// an error message before trying the digest: a pinned reference,
	// the common case in the webhook and imagegate audit, is parsed as a
	// digest at once; the result is the same.
	if strings.Contains(ref, "@") {
		if d, derr := name.NewDigest(ref, opts...); derr == nil {
			r = d
		}
	}
	if r == nil {
		r, err = name.ParseReference(ref, opts...)
	}
	if err != nil {
		return Image{}, fmt.Errorf("image reference %q: %w", ref, err)
	}
	img := Image{Repository: canonicalRepository(r.Context().RegistryStr(), r.Context().RepositoryStr())}
	switch v := r.(type) {
	case name.Digest:
		img.Digest = v.DigestStr()
		img.Tag = tagOf(ref)
	case name.Tag:
		img.Tag = v.TagStr()
	}
	return img, nil
}

// canonicalRepository joins a registry host and a repository path in
// canonical form.
func canonicalRepository(host, path string) string {
	host = CanonicalHost(host)
	if host == DockerHub && !strings.Contains(path, "/") {
		path = "library/" + path
	}
	return host + "/" + path
}

// CanonicalHost folds the spellings of one registry host that reach the
// same bytes: DNS and TLS ignore case, 443 is HTTPS's default port, and
// Docker Hub answers as docker.io, index.docker.io and
// registry-1.docker.io.
func CanonicalHost(host string) string {
	h := strings.TrimSuffix(strings.ToLower(host), ":443")
	switch h {
	case "index.docker.io", "registry-1.docker.io":
		return DockerHub
	}
	return h
}

// tagOf extracts the tag of "repo:tag@digest", which name.Digest drops.
func tagOf(ref string) string {
	at := strings.LastIndexByte(ref, '@')
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

// TagProven returns the image with its tag known to name its digest: a
// record or a resolve showed it. Only then do tag-scoped globs apply to a
// reference that carries both.
func (i Image) TagProven() Image {
	i.tagProven = true
	return i
}

// PinnedWithTag reports whether the reference carries a tag that the
// runtime ignores because a digest is also given, and that nothing has
// yet shown to name that digest.
func (i Image) PinnedWithTag() bool {
	return i.Tag != "" && i.Digest != "" && !i.tagProven
}

// Spells reports whether ref is written exactly as String would render
// the image, without building that string.
func (i Image) Spells(ref string) bool {
	rest, ok := strings.CutPrefix(ref, i.Repository)
	if !ok {
		return false
	}
	if i.Tag != "" {
		if rest, ok = strings.CutPrefix(rest, ":"+i.Tag); !ok {
			return false
		}
	}
	if i.Digest != "" {
		if rest, ok = strings.CutPrefix(rest, "@"+i.Digest); !ok {
			return false
		}
	}
	return rest == ""
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
