package admission

import (
	"context"
	"log/slog"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/cache"
	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/verify"
)

// Path says which step of the chain decided about an image; it is the
// "path" of audit lines and metrics.
type Path string

// Paths, in chain order.
const (
	PathExempt    Path = "exempt"    // exempt namespace or image, or a kind not checked (--pods-only)
	PathUnchanged Path = "unchanged" // the reference was already in oldObject
	PathChild     Path = "child"     // the controller's template holds the reference
	PathRecorded  Path = "recorded"  // an unexpired Verified ImageVerification exists
	PathVerified  Path = "verified"  // verified now (or by a concurrent or cached call)
	PathException Path = "exception" // admitted unverified under a policy exception
	PathDenied    Path = "denied"    // not verified (admitted anyway in warn mode)
	PathWriter    Path = "writer"    // an ImageVerification write, judged by its author
)

// PolicySource returns the compiled policies in force; nil until they
// were loaded once.
type PolicySource interface {
	Policies() *policy.Set
}

// OwnerReader reads a controller from the owner index (no API call).
type OwnerReader interface {
	Owner(ctx context.Context, kind schema.GroupKind, namespace, name string) (Owner, bool, error)
}

// RecordReader finds unexpired Verified ImageVerifications
// (records.Store, reading an informer cache).
type RecordReader interface {
	LookupVerified(ctx context.Context, digest, policyHash string) (*igv1.ImageVerification, bool, error)
}

// ImageChecker resolves and verifies an image through the coalescing cache
// (cache.Checker).
type ImageChecker interface {
	// CheckImage decides about image, parsed as img, under p.
	CheckImage(ctx context.Context, image string, img policy.Image, p *policy.Policy) cache.Decision
	// TagNamesDigest reports whether the tag of repo:tag@digest names
	// that digest now (one registry request).
	TagNamesDigest(ctx context.Context, img policy.Image) bool
}

// Recorder writes the record of a verification (records.Store).
type Recorder interface {
	Record(ctx context.Context, d cache.Decision) (*igv1.ImageVerification, error)
}

// verdict is a step's decision about one image.
type verdict struct {
	Path    Path
	Allowed bool
	// Warn: not verified, admitted only because the policy's mode is warn.
	Warn    bool
	Reason  verify.Reason
	Message string
	Policy  *policy.Policy
	Digest  string
	// Warning is sent back to the client even though the image is admitted
	// (policy exceptions).
	Warning string
	// Canonical is the reference in canonical form (policy.ParseImage)
	// when the chain parsed it and it was written otherwise; audit lines
	// name the image by it.
	Canonical string
}

// step is one link of the chain: a decision, or ok false for "next".
type step func(ctx context.Context, d *deps, r *request, c *imageCheck) (verdict, bool)

// chain is cert-manager's pattern: an ordered list of small functions,
// first decision wins. The last step always decides.
func chain() [6]step {
	return [6]step{stepExempt, stepEmptyReference, stepUnchanged, stepChild, stepRecorded, stepVerify}
}

// deps are what the steps read; every one is an interface so that each
// step is table-tested without Kubernetes or a registry.
type deps struct {
	policies         PolicySource
	exemptNamespaces map[string]bool
	exemptImages     []policy.Glob
	owners           OwnerReader
	records          RecordReader
	checker          ImageChecker
	credentials      PullCredentials // nil: checker, the process's credentials
	recorder         Recorder
	log              *slog.Logger
	now              func() time.Time
	onRecordError    func()
	parsed           parseCache
}

func (d *deps) policiesNow() *policy.Set {
	if d.policies == nil {
		return nil
	}
	return d.policies.Policies()
}

// request is one decoded review with what the steps share across images.
type request struct {
	*review
	info      kindInfo
	set       *policy.Set
	oldImages []imageRef
	oldParsed []policy.Image // parsed lazily, index-aligned with oldImages; zero Repository when unparsable
	parsedOld bool
	parser    *parseCache
	// The checker with the pod spec's pull credentials (checkerFor).
	access    ImageChecker
	accessErr error
	didAccess bool
}

// oldReferences parses the old object's images once per request.
func (r *request) oldReferences() []policy.Image {
	if !r.parsedOld {
		r.parsedOld = true
		r.oldParsed = make([]policy.Image, len(r.oldImages))
		for i, o := range r.oldImages {
			if img, err := parseWith(r.parser, o.Image); err == nil {
				r.oldParsed[i] = img
			}
		}
	}
	return r.oldParsed
}

// imageCheck is one image on its way through the chain, with the parsed
// reference and the policies that judge it computed at most once.
type imageCheck struct {
	ref      imageRef
	parser   *parseCache // nil: parse without caching
	parsed   policy.Image
	parseErr error
	didParse bool
	pols     []*policy.Policy
	polErr   error
	didMatch bool
}

func (c *imageCheck) image() (policy.Image, error) {
	if !c.didParse {
		c.didParse = true
		c.parsed, c.parseErr = parseWith(c.parser, c.ref.Image)
	}
	return c.parsed, c.parseErr
}

// run passes one image through the chain.
func (d *deps) run(ctx context.Context, r *request, c *imageCheck) verdict {
	for _, s := range chain() {
		if v, ok := s(ctx, d, r, c); ok {
			if c.didParse && c.parseErr == nil && !c.parsed.Spells(c.ref.Image) {
				v.Canonical = c.parsed.String()
			}
			return v
		}
	}
	return verdict{Path: PathDenied, Reason: verify.ReasonNotDecided, Message: "no step of the admission chain decided"}
}
