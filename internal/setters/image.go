package setters

import (
	"fmt"
	"regexp"
	"strings"
)

// Image is what a policy resolved to, already verified.
type Image struct {
	// Name is the repository as the policy names it, "registry.example/app".
	Name string
	// Tag is the selected tag, "v1.2.3".
	Tag string
	// Digest is the verified manifest digest, "sha256:<hex>".
	Digest string
}

// Ref returns "name:tag@digest". An empty tag or digest is left out, but
// Apply refuses such an image: it always writes a digest.
func (i Image) Ref() string {
	ref := i.Name
	if i.Tag != "" {
		ref += ":" + i.Tag
	}
	if i.Digest != "" {
		ref += "@" + i.Digest
	}
	return ref
}

// The grammar of the OCI distribution reference. The domain part is
// optional and lenient; path components are lower case.
var (
	nameRE   = regexp.MustCompile(`^(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$`)
	tagRE    = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,127}$`)
	digestRE = regexp.MustCompile(`^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$`)
	hexRE    = regexp.MustCompile(`^[a-f0-9]+$`)
)

// maxNameLen is the distribution spec's limit on a repository name.
const maxNameLen = 255

// Validate reports, wrapping ErrInvalidImage, the first of Name, Tag and
// Digest that is missing or not valid. Apply validates every image before
// it touches a file, so a bad value can never reach Git.
func (i Image) Validate() error {
	switch {
	case len(i.Name) > maxNameLen || !nameRE.MatchString(i.Name):
		return fmt.Errorf("%w: name %q is not a repository name like registry.example/app", ErrInvalidImage, i.Name)
	case !tagRE.MatchString(i.Tag):
		return fmt.Errorf("%w: tag %q of %s is not a valid tag", ErrInvalidImage, i.Tag, i.Name)
	case !validDigest(i.Digest):
		return fmt.Errorf("%w: digest %q of %s is not a digest like sha256:<64 hex>", ErrInvalidImage, i.Digest, i.Name)
	}
	return nil
}

func validDigest(d string) bool {
	if !digestRE.MatchString(d) {
		return false
	}
	alg, hex, _ := strings.Cut(d, ":")
	switch alg {
	case "sha256":
		return len(hex) == 64 && hexRE.MatchString(hex)
	case "sha512":
		return len(hex) == 128 && hexRE.MatchString(hex)
	}
	return len(hex) >= 32
}

// Policy identifies an ImagePolicy as markers name it.
type Policy struct {
	Namespace, Name string
}

// String returns "namespace/name", the form Kubernetes messages use.
func (p Policy) String() string {
	return p.Namespace + "/" + p.Name
}

// Setter names as they appear in Change.Setter and after the policy in a
// marker ("ns:name:tag").
const (
	SetterRef    = ""
	SetterTag    = "tag"
	SetterName   = "name"
	SetterDigest = "digest"
)

// value returns what setter writes for the image.
func (i Image) value(setter string) string {
	switch setter {
	case SetterTag:
		return i.Tag
	case SetterName:
		return i.Name
	case SetterDigest:
		return i.Digest
	}
	return i.Ref()
}
