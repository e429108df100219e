package policy

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

var (
	// ErrNoPolicy means no policy covers an image: imagegate denies by default.
	ErrNoPolicy = errors.New("no trust policy covers the image")
	// ErrAmbiguous means two policies cover an image equally specifically.
	ErrAmbiguous = errors.New("two trust policies cover the image equally specifically")
)

// Set is the policies in force, matched by the most specific glob, and the
// broken ones, which still claim their images.
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

// Match returns the policy for an image admitted into namespace: the
// ClusterTrustPolicies and the TrustPolicies of that namespace compete.
func (s *Set) Match(img Image, namespace string) (*Policy, error) {
	return s.match(img, func(r Ref) bool { return r.Namespace == "" || r.Namespace == namespace })
}

// MatchAny returns the policy for an image among all policies of the set,
// whatever their namespace (the command line has no namespace).
func (s *Set) MatchAny(img Image) (*Policy, error) {
	return s.match(img, func(Ref) bool { return true })
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

func (s *Set) match(img Image, inScope func(Ref) bool) (*Policy, error) {
	f := img.forms()
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
		return nil, fmt.Errorf("%w %s: add a TrustPolicy or ClusterTrustPolicy whose images glob matches it", ErrNoPolicy, img)
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

// imageForms are the strings a glob is tried against, built once per match.
type imageForms struct {
	repository, withTag, withDigest string
}

func (i Image) forms() imageForms {
	f := imageForms{repository: i.Repository}
	if i.Tag != "" {
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
