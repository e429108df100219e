package policy

import (
	"errors"
	"testing"
)

func TestGlobMatch(t *testing.T) {
	t.Parallel()
	cases := []struct {
		glob, image string
		want        bool
	}{
		{"registry.example.com/team/**", "registry.example.com/team/app:v1", true},
		{"registry.example.com/team/**", "registry.example.com/team/sub/app@sha256:" + hex64, true},
		{"registry.example.com/team/**", "registry.example.com/other/app:v1", false},
		{"registry.example.com/team/*", "registry.example.com/team/app:v1", true},
		{"registry.example.com/team/*", "registry.example.com/team/sub/app:v1", false},
		{"registry.example.com/team/app", "registry.example.com/team/app:v1", true},
		{"registry.example.com/team/app:v*", "registry.example.com/team/app:v1.2", true},
		{"registry.example.com/team/app:v*", "registry.example.com/team/app:latest", false},
		{"registry.example.com/team/legacy:*", "registry.example.com/team/legacy:1.0", true},
		{"index.docker.io/library/nginx", "nginx", true},
		{"index.docker.io/library/*", "nginx:1.27", true},
		{"ghcr.io/org/app", "ghcr.io/org/app2:v1", false},
		{"**", "anything.example/x/y:z", true},
	}
	for _, tc := range cases {
		img, err := ParseImage(tc.image)
		if err != nil {
			t.Fatal(err)
		}
		if got := MustParseGlob(tc.glob).Match(img); got != tc.want {
			t.Errorf("%q matching %q (%s) = %v, want %v", tc.glob, tc.image, img, got, tc.want)
		}
	}
}

func TestParseGlobRejects(t *testing.T) {
	t.Parallel()
	for _, g := range []string{"", "a b", "reg/***", "tab\there"} {
		if _, err := ParseGlob(g); !errors.Is(err, ErrInvalidGlob) {
			t.Errorf("ParseGlob(%q) err = %v, want ErrInvalidGlob", g, err)
		}
	}
}

const hex64 = "0000000000000000000000000000000000000000000000000000000000000001"

func TestParseImageNormalises(t *testing.T) {
	t.Parallel()
	cases := map[string]Image{
		"nginx":                                 {Repository: "docker.io/library/nginx", Tag: "latest"},
		"ghcr.io/org/app:v1":                    {Repository: "ghcr.io/org/app", Tag: "v1"},
		"ghcr.io/org/app@sha256:" + hex64:       {Repository: "ghcr.io/org/app", Digest: "sha256:" + hex64},
		"127.0.0.1:5000/app:v1@sha256:" + hex64: {Repository: "127.0.0.1:5000/app", Tag: "v1", Digest: "sha256:" + hex64},
	}
	for in, want := range cases {
		got, err := ParseImage(in)
		if err != nil {
			t.Fatalf("ParseImage(%q): %v", in, err)
		}
		if got != want {
			t.Errorf("ParseImage(%q) = %+v, want %+v", in, got, want)
		}
	}
	if _, err := ParseImage("UPPER/Case:tag"); err == nil {
		t.Error("ParseImage accepted an upper-case repository")
	}
}
