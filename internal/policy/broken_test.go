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
	if p, err := set.Match(img, "other"); refs(p) != "catch-all" || err != nil {
		t.Errorf("in another namespace: got %s, %v; want the catch-all", refs(p), err)
	}
	other, _ := ParseImage("registry.example/else/app:v1")
	if p, err := set.Match(other, "apps"); refs(p) != "catch-all" || err != nil {
		t.Errorf("image outside its globs: got %s, %v; want the catch-all", refs(p), err)
	}
	// A more specific valid policy of its tier still wins over the broken one.
	app := pol("TrustPolicy", "apps", "app", "registry.example/team/app")
	if p, err := NewSet([]*Policy{catchAll, app}, strict).Match(img, "apps"); refs(p) != "catch-all, apps/app" || err != nil {
		t.Errorf("with a more specific valid policy: got %s, %v; want the floor and it", refs(p), err)
	}
	// Equally specific in its tier: ambiguous, as between two valid policies.
	twin := pol("TrustPolicy", "apps", "twin", "registry.example/team/**")
	if _, err := NewSet([]*Policy{twin}, strict).Match(img, "apps"); !errors.Is(err, ErrAmbiguous) {
		t.Errorf("tie with a broken policy: err = %v, want ErrAmbiguous", err)
	}
	// A broken cluster policy is a broken floor: the tenant's valid policy
	// cannot stand in for it.
	brokenFloor, _ := NewBroken(Ref{Kind: "ClusterTrustPolicy", Name: "floor"},
		&igv1.TrustPolicySpec{Images: []igv1.ImageGlob{{Glob: "registry.example/**"}}}, compileErr)
	if _, err := NewSet([]*Policy{app}, brokenFloor).Match(img, "apps"); !errors.Is(err, ErrInvalidPolicy) {
		t.Errorf("broken floor: err = %v, want ErrInvalidPolicy", err)
	}
}

func TestNewBrokenNeedsGlobs(t *testing.T) {
	t.Parallel()
	if _, ok := NewBroken(Ref{Kind: "TrustPolicy", Name: "x"}, &igv1.TrustPolicySpec{Images: []igv1.ImageGlob{{Glob: "registry.example/***"}}}, errors.New("x")); ok {
		t.Error("a policy whose globs do not parse claims images")
	}
}
