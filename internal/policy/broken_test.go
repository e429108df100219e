package policy

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
)

// TestBrokenPolicyKeepsItsImages: a strict policy whose Secret is missing
// must not hand its images to a catch-all that would admit them.
func TestBrokenPolicyKeepsItsImages(t *testing.T) {
	t.Parallel()
	catchAll := pol("ClusterTrustPolicy", "", "catch-all", "**")
	ref := Ref{Kind: "TrustPolicy", Namespace: "apps", Name: "strict"}
	compileErr := fmt.Errorf("%w %s %s: Secret apps/keys not found", ErrInvalidPolicy, ref.Kind, ref)
	strict, ok := NewBroken(ref, &igv1.TrustPolicySpec{Images: []igv1.ImageGlob{{Glob: "registry.example/team/**"}}}, compileErr)
	if !ok {
		t.Fatal("NewBroken refused valid globs")
	}
	set := NewSet([]*Policy{catchAll}, strict)

	img, _ := ParseImage("registry.example/team/app:v1")
	p, err := set.Match(img, "apps")
	if p != nil || !errors.Is(err, ErrInvalidPolicy) || !strings.Contains(err.Error(), "TrustPolicy apps/strict covers registry.example/team/app:v1") {
		t.Errorf("image of the broken policy: got %v, %v; want a denial naming the broken policy", p, err)
	}
	// Out of its namespace or its globs, the broken policy claims nothing.
	if p, err := set.Match(img, "other"); p != catchAll || err != nil {
		t.Errorf("in another namespace: got %v, %v; want the catch-all", p, err)
	}
	other, _ := ParseImage("registry.example/else/app:v1")
	if p, err := set.Match(other, "apps"); p != catchAll || err != nil {
		t.Errorf("image outside its globs: got %v, %v; want the catch-all", p, err)
	}
	// A more specific valid policy still wins over the broken one.
	app := pol("TrustPolicy", "apps", "app", "registry.example/team/app")
	if p, err := NewSet([]*Policy{catchAll, app}, strict).Match(img, "apps"); p != app || err != nil {
		t.Errorf("with a more specific valid policy: got %v, %v; want it", p, err)
	}
	// Equally specific: ambiguous, as between two valid policies.
	twin := pol("ClusterTrustPolicy", "", "twin", "registry.example/team/**")
	if _, err := NewSet([]*Policy{twin}, strict).Match(img, "apps"); !errors.Is(err, ErrAmbiguous) {
		t.Errorf("tie with a broken policy: err = %v, want ErrAmbiguous", err)
	}
}

func TestNewBrokenNeedsGlobs(t *testing.T) {
	t.Parallel()
	if _, ok := NewBroken(Ref{Kind: "TrustPolicy", Name: "x"}, &igv1.TrustPolicySpec{Images: []igv1.ImageGlob{{Glob: "registry.example/***"}}}, errors.New("x")); ok {
		t.Error("a policy whose globs do not parse claims images")
	}
}
