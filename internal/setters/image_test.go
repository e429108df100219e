package setters

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestImageRef(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		img  Image
		want string
	}{
		{Image{Name: "registry.example/app", Tag: "v1.2.3", Digest: "sha256:abc"}, "registry.example/app:v1.2.3@sha256:abc"},
		{Image{Name: "registry.example/app", Digest: "sha256:abc"}, "registry.example/app@sha256:abc"},
		{Image{Name: "registry.example/app", Tag: "v1"}, "registry.example/app:v1"},
	} {
		if got := tc.img.Ref(); got != tc.want {
			t.Errorf("%+v.Ref() = %q, want %q", tc.img, got, tc.want)
		}
	}
}

func TestImageValidate(t *testing.T) {
	t.Parallel()
	d := imgApp.Digest
	for _, tc := range []struct {
		img Image
		ok  bool
	}{
		{imgApp, true},
		{imgAPI, true},
		{Image{Name: "app", Tag: "latest", Digest: d}, true},
		{Image{Name: "localhost:5000/a/b-c/d__e", Tag: "1.0_rc-1", Digest: d}, true},
		{Image{Name: "[::1]:5000/app", Tag: "v1", Digest: d}, true},
		{Image{Name: "app", Tag: "v1", Digest: "sha512:" + strings.Repeat("ab", 64)}, true},
		{Image{Name: "app", Tag: "v1", Digest: "sha256:" + strings.Repeat("ab", 31)}, false},
		{Image{Name: "/app", Tag: "v1", Digest: d}, false},
		{Image{Name: "app/", Tag: "v1", Digest: d}, false},
		{Image{Name: "app:v1", Tag: "v1", Digest: d}, false},
		{Image{Name: "app", Tag: ".v1", Digest: d}, false},
		{Image{Name: "app", Tag: "v1", Digest: "sha256"}, false},
		{Image{Name: strings.Repeat("a", 256), Tag: "v1", Digest: d}, false},
	} {
		err := tc.img.Validate()
		if tc.ok != (err == nil) || err != nil && !errors.Is(err, ErrInvalidImage) {
			t.Errorf("%+v.Validate() = %v, want ok=%v", tc.img, err, tc.ok)
		}
	}
}

func TestResultFiles(t *testing.T) {
	t.Parallel()
	r := Result{Changes: []Change{{File: "b.yaml"}, {File: "a.yaml"}, {File: "b.yaml"}, {File: "a/c.yaml"}}}
	if got, want := r.Files(), []string{"a.yaml", "a/c.yaml", "b.yaml"}; !slices.Equal(got, want) {
		t.Errorf("Files() = %v, want %v", got, want)
	}
	if got := (Result{}).Files(); len(got) != 0 {
		t.Errorf("Files() of no changes = %v", got)
	}
}

func TestParseSetterName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want marker
		ok   bool
	}{
		{"ns:app", marker{policy: Policy{"ns", "app"}}, true},
		{"ns:app:tag", marker{policy: Policy{"ns", "app"}, setter: SetterTag}, true},
		{"ns:app:name", marker{policy: Policy{"ns", "app"}, setter: SetterName}, true},
		{"ns:app:digest", marker{policy: Policy{"ns", "app"}, setter: SetterDigest}, true},
		{"ns:app:", marker{}, false},
		{"ns:app:Tag", marker{}, false},
		{"ns:app:tag:x", marker{}, false},
		{"app", marker{}, false},
		{":app", marker{}, false},
		{"ns:", marker{}, false},
		{"", marker{}, false},
	} {
		got, ok := parseSetterName(tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("parseSetterName(%q) = %+v, %v; want %+v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
