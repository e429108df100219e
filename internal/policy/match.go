package policy

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

var (
	// ErrNoPolicy means no policy covers an image: imagegate denies by default.
	ErrNoPolicy = errors.New("no trust policy covers the image")
	// ErrAmbiguous means two policies cover an image equally specifically.
	ErrAmbiguous = errors.New("two trust policies cover the image equally specifically")
	// ErrNotCovered means a trust policy named for an image does not
	// exist or has no glob that matches it.
	ErrNotCovered = errors.New("the named trust policy does not cover the image")
)

// Set is the policies in force, matched by the most specific glob within
// each tier (cluster, namespace), and the broken ones, which still claim
// their images.
type Set struct {
	policies []*Policy
	broken   []Broken
}

// NewSet returns a set of compiled policies and of broken ones. The slices
// are not copied.
func NewSet(policies []*Policy, broken ...Broken) *Set {
	return &Set{policies: policies, broken: broken}
}

// Len is the number of policies.
func (s *Set) Len() int { return len(s.policies) }

// Policies returns the policies in the set.
func (s *Set) Policies() []*Policy { return s.policies }

// Match returns the policies that judge an image admitted into
// namespace, each of which must admit it, the floor first:
//
//   - the most specific ClusterTrustPolicy that covers the image: a
//     cluster policy is a floor that no tenant's policy replaces or
//     weakens;
//   - the most specific TrustPolicy of the namespace that covers it, which
//     may add requirements of its own.
//
// One of the two may be missing, not both (ErrNoPolicy). A tie within a
// tier is ErrAmbiguous; a broken policy that is the most specific of its
// tier denies the image with ErrInvalidPolicy.
func (s *Set) Match(img Image, namespace string) ([]*Policy, error) {
	return s.match(img, func(r Ref) bool { return r.Namespace == namespace })
}

func isCluster(r Ref) bool { return r.Namespace == "" }

// MatchAny is Match for the command line, which has no namespace: the
// TrustPolicies of every namespace compete for the tenant tier.
func (s *Set) MatchAny(img Image) ([]*Policy, error) {
	return s.match(img, func(r Ref) bool { return r.Namespace != "" })
}

// MatchNamed is Match for an image whose policy is named (an ImagePolicy's
// imagegate.dev/trust-policy annotation): the named policy must cover the
// image, and it judges in addition to the policies Match returns, never
// instead of them, so a name can make a selection stricter than the
// webhook will be, never weaker.
func (s *Set) MatchNamed(img Image, namespace string, named Ref) ([]*Policy, error) {
	p := s.Get(named)
	if p == nil {
		for i := range s.broken {
			if s.broken[i].Ref == named {
				return nil, s.broken[i].deny(img)
			}
		}
		return nil, fmt.Errorf("%w: %s %s does not exist", ErrNotCovered, named.Kind, named)
	}
	if !p.Covers(img) {
		return nil, fmt.Errorf("%w: %s %s has no images glob that matches %s", ErrNotCovered, named.Kind, named, img)
	}
	ps, err := s.Match(img, namespace)
	if err != nil && !errors.Is(err, ErrNoPolicy) {
		return nil, err
	}
	for _, q := range ps {
		if q == p {
			return ps, nil
		}
	}
	return append(ps, p), nil
}

// MatchPinned applies the rule that a digest outranks a tag to a matcher
// (Match, MatchAny or MatchNamed bound to their arguments): a reference
// that carries both is matched as repository@digest, and by its tag only
// when that would choose other policies and shown (asked only then: a
// record lookup or a registry request) says the tag names the digest. It
// returns the image, proven or not, with the policies that judge it.
func MatchPinned(img Image, match func(Image) ([]*Policy, error), shown func(proven Image, pols []*Policy) bool) (Image, []*Policy, error) {
	pols, err := match(img)
	if !img.PinnedWithTag() {
		return img, pols, err
	}
	proven := img.TagProven()
	ppols, perr := match(proven)
	if perr != nil || (err == nil && slices.Equal(pols, ppols)) || !shown(proven, ppols) {
		return img, pols, err
	}
	return proven, ppols, nil
}

// Get returns the policy a ref names, or nil.
func (s *Set) Get(ref Ref) *Policy {
	for _, p := range s.policies {
		if p.Ref == ref {
			return p
		}
	}
	return nil
}

func (s *Set) match(img Image, tenant func(Ref) bool) ([]*Policy, error) {
	f := img.forms()
	floor, ferr := s.tier(img, f, isCluster)
	own, terr := s.tier(img, f, tenant)
	for _, err := range []error{ferr, terr} {
		if err != nil && !errors.Is(err, ErrNoPolicy) {
			return nil, err
		}
	}
	switch {
	case floor != nil && own != nil:
		return []*Policy{floor, own}, nil
	case floor != nil:
		return []*Policy{floor}, nil
	case own != nil:
		return []*Policy{own}, nil
	}
	return nil, fmt.Errorf("%w %s: add a TrustPolicy or ClusterTrustPolicy whose images glob matches it", ErrNoPolicy, img)
}

// tier returns the most specific policy among those inScope that covers
// the image.
func (s *Set) tier(img Image, f imageForms, inScope func(Ref) bool) (*Policy, error) {
	var m matcher
	for _, p := range s.policies {
		if inScope(p.Ref) {
			if g, ok := bestGlob(p.Images, f); ok {
				m.offer(g, p.Ref, p, nil)
			}
		}
	}
	for i := range s.broken {
		if b := &s.broken[i]; inScope(b.Ref) {
			if g, ok := bestGlob(b.Images, f); ok {
				m.offer(g, b.Ref, nil, b)
			}
		}
	}
	switch {
	case !m.found:
		return nil, ErrNoPolicy
	case m.tied:
		return nil, fmt.Errorf("%w %s: %s %s and %s %s; make one glob more specific", ErrAmbiguous, img,
			m.ref.Kind, m.ref, m.tie.Kind, m.tie)
	case m.broken != nil:
		return nil, m.broken.deny(img)
	}
	return m.policy, nil
}

// matcher keeps the most specific candidate offered so far, and one that
// is exactly as specific, if any.
type matcher struct {
	found  bool
	glob   Glob
	ref    Ref
	policy *Policy
	broken *Broken
	tie    Ref
	tied   bool
}

func (m *matcher) offer(g Glob, ref Ref, p *Policy, b *Broken) {
	switch {
	case !m.found || g.MoreSpecific(m.glob):
		*m = matcher{found: true, glob: g, ref: ref, policy: p, broken: b}
	case g.SameSpecificity(m.glob) && ref != m.ref:
		m.tie, m.tied = ref, true
	}
}

// bestGlob returns the most specific of globs that matches.
func bestGlob(globs []Glob, f imageForms) (Glob, bool) {
	var best Glob
	found := false
	for _, g := range globs {
		if g.matchForms(f) && (!found || g.MoreSpecific(best)) {
			best, found = g, true
		}
	}
	return best, found
}

// Covers reports whether one of the policy's globs matches the image.
func (p *Policy) Covers(img Image) bool {
	_, ok := bestGlob(p.Images, img.forms())
	return ok
}

// ExceptionFor returns the first unexpired exception matching the image.
func (p *Policy) ExceptionFor(img Image, now time.Time) (Exception, bool) {
	f := img.forms()
	for _, e := range p.Exceptions {
		if e.Active(now) && e.Glob.matchForms(f) {
			return e, true
		}
	}
	return Exception{}, false
}

// imageForms are the strings a glob is tried against, built once per
// match. The tag of a reference pinned by digest is left out until it is
// proven to name the digest: the runtime pulls the digest whatever the tag
// says, so a tag-scoped glob must not lend it the tag's treatment.
type imageForms struct {
	repository, withTag, withDigest string
}

func (i Image) forms() imageForms {
	f := imageForms{repository: i.Repository}
	if i.Tag != "" && (i.Digest == "" || i.tagProven) {
		f.withTag = i.Repository + ":" + i.Tag
	}
	if i.Digest != "" {
		f.withDigest = i.Repository + "@" + i.Digest
	}
	return f
}

func (g Glob) matchForms(f imageForms) bool {
	// Every form extends the repository, so a literal prefix that none of
	// them starts with rules the glob out before any backtracking.
	if !strings.HasPrefix(f.repository, g.prefix) && !strings.HasPrefix(f.withTag, g.prefix) && !strings.HasPrefix(f.withDigest, g.prefix) {
		return false
	}
	return match(g.pattern, f.repository) ||
		(f.withTag != "" && match(g.pattern, f.withTag)) ||
		(f.withDigest != "" && match(g.pattern, f.withDigest))
}
