package policy

import (
	"strings"
	"testing"
)

// FuzzParseImage: parsing never panics, and a parsed reference renders to
// a string that parses back to the same image.
func FuzzParseImage(f *testing.F) {
	for _, s := range []string{"nginx", "ghcr.io/org/app:v1", "127.0.0.1:5000/a/b:c@sha256:" + hex64,
		"a@sha256:" + hex64, "UPPER:tag", "a:b:c", "registry.example/team/app:v1\x00", "ünïcode/app:v1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		img, err := ParseImage(s)
		if err != nil {
			return
		}
		again, err := ParseImage(img.String())
		if err != nil {
			t.Fatalf("%q parsed to %q, which does not parse: %v", s, img, err)
		}
		if again != img {
			t.Fatalf("%q: %+v renders as %q and parses back as %+v", s, img, img.String(), again)
		}
	})
}

// FuzzGlob: compiling and matching never panic; a glob without wildcards
// matches exactly its own repository; "**" matches everything.
func FuzzGlob(f *testing.F) {
	for _, s := range []string{"registry.example/**", "a/*/b:v*", "***", "*", "**/x", "a b", "reg/app"} {
		f.Add(s, "registry.example/team/app:v1")
	}
	all := MustParseGlob("**")
	f.Fuzz(func(t *testing.T, pattern, ref string) {
		img, err := ParseImage(ref)
		if err != nil {
			return
		}
		if !all.Match(img) {
			t.Fatalf("** does not match %q", img)
		}
		g, err := ParseGlob(pattern)
		if err != nil {
			return
		}
		_ = g.Match(img)
		if !strings.Contains(pattern, "*") {
			lit := MustParseGlob(img.Repository)
			if !lit.Match(img) {
				t.Fatalf("literal %q does not match its own repository", img.Repository)
			}
		}
	})
}
