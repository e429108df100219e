package policy

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func pol(kind, ns, name string, globs ...string) *Policy {
	p := &Policy{Ref: Ref{Kind: kind, Namespace: ns, Name: name}}
	for _, g := range globs {
		p.Images = append(p.Images, MustParseGlob(g))
	}
	return p
}

func TestMostSpecificWins(t *testing.T) {
	t.Parallel()
	broad := pol("ClusterTrustPolicy", "", "broad", "registry.example/**")
	team := pol("ClusterTrustPolicy", "", "team", "registry.example/team/**")
	app := pol("TrustPolicy", "apps", "app", "registry.example/team/app")
	appWide := pol("TrustPolicy", "apps", "app-wide", "registry.example/**")
	set := NewSet([]*Policy{broad, team, app, appWide})
	cases := []struct {
		image, ns string
		want      string
	}{
		// The most specific cluster policy is the floor; the most specific
		// TrustPolicy of the namespace judges too.
		{"registry.example/team/app:v1", "apps", "team, apps/app"},
		{"registry.example/team/app:v1", "other", "team"}, // app is namespaced to apps
		{"registry.example/team/web:v1", "apps", "team, apps/app-wide"},
		{"registry.example/x:v1", "apps", "broad, apps/app-wide"},
		{"registry.example/x:v1", "other", "broad"},
	}
	for _, tc := range cases {
		img, _ := ParseImage(tc.image)
		got, err := set.Match(img, tc.ns)
		if err != nil || refs(got) != tc.want {
			t.Errorf("Match(%s, %s) = %s, %v; want %s", tc.image, tc.ns, refs(got), err, tc.want)
		}
	}
}

func refs(ps []*Policy) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.Ref.String()
	}
	return strings.Join(s, ", ")
}

func TestNoPolicyAndTies(t *testing.T) {
	t.Parallel()
	a := pol("ClusterTrustPolicy", "", "a", "registry.example/team/a*")
	b := pol("ClusterTrustPolicy", "", "b", "registry.example/te*/app")
	set := NewSet([]*Policy{a, b})
	img, _ := ParseImage("registry.example/team/app:v1")
	_, err := set.MatchAny(img)
	if !errors.Is(err, ErrAmbiguous) || !strings.Contains(err.Error(), "ClusterTrustPolicy a ") || !strings.Contains(err.Error(), "ClusterTrustPolicy b;") {
		t.Fatalf("tie: err = %v, want ErrAmbiguous naming a and b", err)
	}
	other, _ := ParseImage("elsewhere.example/app:v1")
	if _, err := set.MatchAny(other); !errors.Is(err, ErrNoPolicy) || !strings.Contains(err.Error(), "elsewhere.example/app:v1") {
		t.Fatalf("no match: err = %v, want ErrNoPolicy naming the image", err)
	}
}

func TestExceptionExpiry(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	p := pol("ClusterTrustPolicy", "", "p", "registry.example/**")
	p.Exceptions = []Exception{{Glob: MustParseGlob("registry.example/legacy:*"), Reason: "vendor", Expires: now.Add(time.Hour)}}
	img, _ := ParseImage("registry.example/legacy:1.0")
	if _, ok := p.ExceptionFor(img, now); !ok {
		t.Fatal("unexpired exception does not apply")
	}
	if _, ok := p.ExceptionFor(img, now.Add(time.Hour)); ok {
		t.Fatal("expired exception still applies")
	}
	other, _ := ParseImage("registry.example/app:1.0")
	if _, ok := p.ExceptionFor(other, now); ok {
		t.Fatal("exception applies to an image its glob does not match")
	}
}

// thousandPolicies is 1,000 policies of two globs each, one of which
// matches the image returned.
func thousandPolicies() (*Set, Image) {
	ps := make([]*Policy, 0, 1000)
	for i := range 1000 {
		ps = append(ps, pol("ClusterTrustPolicy", "", fmt.Sprintf("p%d", i),
			fmt.Sprintf("registry%d.example/team%d/**", i%50, i), fmt.Sprintf("registry%d.example/team%d/app:v*", i%50, i)))
	}
	img, _ := ParseImage("registry7.example/team507/app:v1.2.3")
	return NewSet(ps), img
}

// TestMatchAllocatesTwice: matching is on every admission request; the
// two allocations are the image's name:tag form the globs are matched
// against and the list of policies returned.
func TestMatchAllocatesTwice(t *testing.T) {
	set, img := thousandPolicies()
	if n := testing.AllocsPerRun(20, func() { _, _ = set.Match(img, "apps") }); n != 2 {
		t.Errorf("Match over 1,000 policies allocates %v times, want 2", n)
	}
}

func BenchmarkMatch1000Policies(b *testing.B) {
	set, img := thousandPolicies()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := set.MatchAny(img); err != nil {
			b.Fatal(err)
		}
	}
}
