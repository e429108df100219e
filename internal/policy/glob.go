package policy

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidGlob is returned for a glob that cannot match any reference.
var ErrInvalidGlob = errors.New("invalid image glob")

// Glob matches image references. '*' matches within one path segment or
// tag (never '/'), '**' matches across segments. A glob is matched against
// the repository ("registry/path"), and against "repository:tag" and
// "repository@digest" when the reference has them, so
// "registry.example/team/**" covers every tag and digest below team/.
type Glob struct {
	pattern   string
	prefix    string // the literal part before the first wildcard
	wildcards int
	literal   int
}

// ParseGlob checks a glob and precomputes its specificity.
func ParseGlob(pattern string) (Glob, error) {
	if pattern == "" {
		return Glob{}, fmt.Errorf("%w: empty", ErrInvalidGlob)
	}
	if strings.Contains(pattern, "***") {
		return Glob{}, fmt.Errorf("%w %q: '***' is not a wildcard; use '*' or '**'", ErrInvalidGlob, pattern)
	}
	for _, r := range pattern {
		if r <= ' ' || r == 0x7f {
			return Glob{}, fmt.Errorf("%w %q: control or space character", ErrInvalidGlob, pattern)
		}
	}
	pattern, err := canonicalGlob(pattern)
	if err != nil {
		return Glob{}, err
	}
	g := Glob{pattern: pattern, prefix: pattern}
	if i := strings.IndexByte(pattern, '*'); i >= 0 {
		g.prefix = pattern[:i]
	}
	for i := 0; i < len(pattern); i++ {
		if pattern[i] != '*' {
			g.literal++
			continue
		}
		g.wildcards++
		if i+1 < len(pattern) && pattern[i+1] == '*' {
			i++
		}
	}
	return g, nil
}

// MustParseGlob is ParseGlob for patterns known to be valid, such as test data.
func MustParseGlob(pattern string) Glob {
	g, err := ParseGlob(pattern)
	if err != nil {
		panic(err)
	}
	return g
}

// String returns the pattern.
func (g Glob) String() string { return g.pattern }

// MoreSpecific reports whether g is more specific than o: fewer wildcards,
// then a longer literal part. Equal specificity is neither.
func (g Glob) MoreSpecific(o Glob) bool {
	if g.wildcards != o.wildcards {
		return g.wildcards < o.wildcards
	}
	return g.literal > o.literal
}

// SameSpecificity reports whether neither glob is more specific.
func (g Glob) SameSpecificity(o Glob) bool {
	return g.wildcards == o.wildcards && g.literal == o.literal
}

// Match reports whether the glob matches one of the forms of an image.
func (g Glob) Match(img Image) bool { return g.matchForms(img.forms()) }

// match is a backtracking glob matcher without allocation: '**' may consume
// anything, '*' anything but '/'.
func match(pattern, s string) bool {
	for len(pattern) > 0 {
		if pattern[0] != '*' {
			if len(s) == 0 || s[0] != pattern[0] {
				return false
			}
			pattern, s = pattern[1:], s[1:]
			continue
		}
		deep := len(pattern) > 1 && pattern[1] == '*'
		if deep {
			pattern = pattern[2:]
		} else {
			pattern = pattern[1:]
		}
		for i := 0; i <= len(s); i++ {
			if match(pattern, s[i:]) {
				return true
			}
			if i < len(s) && s[i] == '/' && !deep {
				return false
			}
		}
		return false
	}
	return len(s) == 0
}
