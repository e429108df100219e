package policy

import (
	"errors"
	"testing"
	"time"

	"github.com/distribution/reference"
)

const digestA = "sha256:" + hex64

// TestSpellingsOfOneRepositoryAreOneImage: every spelling that reaches the
// same repository over the network parses to one canonical Image, so a
// policy, an exception or an exempt glob cannot be sidestepped by writing
// the registry differently. distFolds marks the spellings that
// distribution/reference (the parser container runtimes use) also folds
// into one name; the others it keeps apart although they reach the same
// bytes.
func TestSpellingsOfOneRepositoryAreOneImage(t *testing.T) {
	t.Parallel()
	groups := []struct {
		want      string
		spellings map[string]bool // spelling -> distribution/reference folds it
	}{
		{"docker.io/library/nginx:1.27", map[string]bool{
			"nginx:1.27":                                  true,
			"library/nginx:1.27":                          true,
			"docker.io/nginx:1.27":                        true,
			"docker.io/library/nginx:1.27":                true,
			"index.docker.io/nginx:1.27":                  true,
			"index.docker.io/library/nginx:1.27":          true,
			"registry-1.docker.io/nginx:1.27":             false,
			"registry-1.docker.io/library/nginx:1.27":     false,
			"Docker.IO/library/nginx:1.27":                false,
			"docker.io:443/library/nginx:1.27":            false,
			"INDEX.DOCKER.IO:443/library/nginx:1.27":      false,
			"Registry-1.Docker.Io:443/library/nginx:1.27": false,
		}},
		{"docker.io/team/app@" + digestA, map[string]bool{
			"team/app@" + digestA:                      true,
			"docker.io/team/app@" + digestA:            true,
			"index.docker.io/team/app@" + digestA:      true,
			"registry-1.docker.io/team/app@" + digestA: false,
		}},
		{"registry.example/team/app:v1", map[string]bool{
			"registry.example/team/app:v1":     true,
			"Registry.Example/team/app:v1":     false,
			"REGISTRY.EXAMPLE:443/team/app:v1": false,
			"registry.example:443/team/app:v1": false,
		}},
		// Another port is another server: kept.
		{"registry.example:5000/app:v1", map[string]bool{
			"registry.example:5000/app:v1": true,
			"Registry.Example:5000/app:v1": false,
		}},
	}
	for _, g := range groups {
		distNames := map[string]bool{}
		for s, distFolds := range g.spellings {
			img, err := ParseImage(s)
			if err != nil {
				t.Errorf("ParseImage(%q): %v", s, err)
				continue
			}
			if img.String() != g.want {
				t.Errorf("ParseImage(%q) = %s, want %s", s, img, g.want)
			}
			n, err := reference.ParseNormalizedNamed(s)
			if err != nil {
				t.Errorf("distribution/reference refuses %q: %v", s, err)
				continue
			}
			if distFolds {
				distNames[n.Name()] = true
			} else if distNames[n.Name()] {
				t.Errorf("%q is marked as not folded by distribution/reference, but it is (%s)", s, n.Name())
			}
		}
		if len(distNames) != 1 {
			t.Errorf("spellings marked as folded by distribution/reference give %d names: %v", len(distNames), distNames)
		}
		for s, distFolds := range g.spellings {
			if n, err := reference.ParseNormalizedNamed(s); err == nil && !distFolds && distNames[n.Name()] {
				t.Errorf("%q is marked as not folded by distribution/reference, but it gives %s", s, n.Name())
			}
		}
	}
}

// TestGlobsAreCanonicalised: a glob names registries the way references
// do, whichever spelling its author used.
func TestGlobsAreCanonicalised(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"nginx":                           "docker.io/library/nginx",
		"nginx:1.*":                       "docker.io/library/nginx:1.*",
		"team/*":                          "docker.io/team/*",
		"docker.io/nginx":                 "docker.io/library/nginx",
		"docker.io/*":                     "docker.io/library/*",
		"docker.io/**":                    "docker.io/**",
		"index.docker.io/library/*":       "docker.io/library/*",
		"registry-1.docker.io/team/**":    "docker.io/team/**",
		"Registry.Example:443/team/**":    "registry.example/team/**",
		"registry.example:5000/app":       "registry.example:5000/app",
		"*.Example.com/**":                "*.example.com/**",
		"**":                              "**",
		"*/app":                           "*/app",
		"registry.example/app:Release-*":  "registry.example/app:Release-*",
		"registry.example/app@" + digestA: "registry.example/app@" + digestA,
		"localhost:5000/app":              "localhost:5000/app",
		"127.0.0.1:5000/team/**":          "127.0.0.1:5000/team/**",
	}
	for in, want := range cases {
		g, err := ParseGlob(in)
		if err != nil {
			t.Errorf("ParseGlob(%q): %v", in, err)
			continue
		}
		if g.String() != want {
			t.Errorf("ParseGlob(%q) = %q, want %q", in, g, want)
		}
	}
	// Equal globs match equal images: every spelling of Docker Hub's nginx.
	for _, glob := range []string{"nginx", "docker.io/nginx", "index.docker.io/library/nginx", "registry-1.docker.io/library/nginx:*"} {
		for _, ref := range []string{"nginx:1.27", "registry-1.docker.io/library/nginx:1.27", "Docker.IO:443/nginx:1.27"} {
			img, _ := ParseImage(ref)
			if !MustParseGlob(glob).Match(img) {
				t.Errorf("glob %q does not match %q", glob, ref)
			}
		}
	}
	// A repository path is lower case in every reference: a glob that
	// could never match is refused, not kept silently.
	for _, bad := range []string{"registry.example/Team/**", "team/App"} {
		if _, err := ParseGlob(bad); !errors.Is(err, ErrInvalidGlob) {
			t.Errorf("ParseGlob(%q) err = %v, want ErrInvalidGlob", bad, err)
		}
	}
}

// TestDigestOutranksTag: in repo:tag@digest the runtime pulls the digest,
// so a tag-scoped glob applies only once the tag is proven to name it.
func TestDigestOutranksTag(t *testing.T) {
	t.Parallel()
	tagGlob := MustParseGlob("registry.example/app:v1.*")
	pinned, err := ParseImage("registry.example/app:v1.2@" + digestA)
	if err != nil {
		t.Fatal(err)
	}
	if !pinned.PinnedWithTag() {
		t.Fatal("repo:tag@digest is not reported as pinned with an unproven tag")
	}
	if tagGlob.Match(pinned) {
		t.Error("a tag glob matches repo:tag@digest before the tag is proven to name the digest")
	}
	if !tagGlob.Match(pinned.TagProven()) {
		t.Error("a tag glob does not match repo:tag@digest once the tag is proven")
	}
	if !MustParseGlob("registry.example/app").Match(pinned) || !MustParseGlob("registry.example/app@"+digestA).Match(pinned) {
		t.Error("repository and digest globs must match repo:tag@digest whatever its tag")
	}
	tagOnly, _ := ParseImage("registry.example/app:v1.2")
	if tagOnly.PinnedWithTag() || !tagGlob.Match(tagOnly) {
		t.Error("a tag-only reference is pulled by its tag: the tag glob must match it")
	}

	// The same rule holds for policies and exceptions.
	strictApp := pol("ClusterTrustPolicy", "", "strict", "registry.example/**")
	lenientV1 := pol("ClusterTrustPolicy", "", "lenient-v1", "registry.example/app:v1.*")
	set := NewSet([]*Policy{strictApp, lenientV1})
	if ps, _ := set.Match(pinned, "apps"); refs(ps) != "strict" {
		t.Errorf("unproven tag: policies %s, want strict", refs(ps))
	}
	if ps, _ := set.Match(pinned.TagProven(), "apps"); refs(ps) != "lenient-v1" {
		t.Errorf("proven tag: policies %s, want lenient-v1", refs(ps))
	}
	strictApp.Exceptions = []Exception{{Glob: MustParseGlob("registry.example/app:v1.*"), Reason: "vendor"}}
	if _, ok := strictApp.ExceptionFor(pinned, time.Time{}); ok {
		t.Error("a tag-scoped exception applies to repo:tag@digest before the tag is proven")
	}
	if _, ok := strictApp.ExceptionFor(pinned.TagProven(), time.Time{}); !ok {
		t.Error("a tag-scoped exception does not apply once the tag is proven")
	}
}

// TestMatchPinnedAsksOnlyWhenTheTagMatters: the tag of repo:tag@digest is
// tried only when it would choose other policies, and counts only when
// shown names it.
func TestMatchPinnedAsksOnlyWhenTheTagMatters(t *testing.T) {
	t.Parallel()
	repo := pol("ClusterTrustPolicy", "", "repo", "registry.example/**")
	byTag := pol("ClusterTrustPolicy", "", "v1", "registry.example/app:v1.*")
	pinned, _ := ParseImage("registry.example/app:v1.2@" + digestA)
	other, _ := ParseImage("registry.example/app:v2@" + digestA)
	set := NewSet([]*Policy{repo, byTag})
	match := func(img Image) ([]*Policy, error) { return set.Match(img, "apps") }
	for _, tc := range []struct {
		name   string
		img    Image
		shown  bool
		asked  int
		want   string
		proven bool
	}{
		{"the tag matters and is shown", pinned, true, 1, "v1", true},
		{"the tag matters and is not shown", pinned, false, 1, "repo", false},
		{"the tag does not matter", other, true, 0, "repo", false},
	} {
		asked := 0
		img, ps, err := MatchPinned(tc.img, match, func(Image, []*Policy) bool { asked++; return tc.shown })
		if err != nil || refs(ps) != tc.want || asked != tc.asked || img.PinnedWithTag() == tc.proven {
			t.Errorf("%s: %s, %v, asked %d, proven %v; want %s, asked %d, proven %v", tc.name, refs(ps), err, asked, !img.PinnedWithTag(), tc.want, tc.asked, tc.proven)
		}
	}
}
