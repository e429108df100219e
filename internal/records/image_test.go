package records

import (
	"testing"

	"github.com/imagegate/imagegate/internal/cache"
	"github.com/imagegate/imagegate/internal/policy"
)

// TestRecordedImageKeepsOnlyShownTags: a record names its image in
// canonical form, and keeps a tag only when the verification showed that
// it names the digest, so that its tag is evidence (TagShown).
func TestRecordedImageKeepsOnlyShownTags(t *testing.T) {
	t.Parallel()
	const d = "sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
	parse := func(s string) policy.Image {
		img, err := policy.ParseImage(s)
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	cases := []struct {
		name string
		img  policy.Image
		want string
	}{
		{"tag-only reference, resolved", parse("Registry.Example:443/app:v1"), "registry.example/app:v1@" + d},
		{"pinned, tag taken on trust", parse("registry.example/app:v1@" + d), "registry.example/app@" + d},
		{"pinned, tag proven", parse("registry.example/app:v1@" + d).TagProven(), "registry.example/app:v1@" + d},
		{"Docker Hub alias", parse("registry-1.docker.io/nginx:1.27"), "docker.io/library/nginx:1.27@" + d},
	}
	for _, tc := range cases {
		got := recordedImage(cache.Decision{Image: "as written", Parsed: tc.img, Digest: d})
		if got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
		pinned := parse("registry.example/app:v1@" + d)
		if shown := TagShown(got, d, pinned); shown != (tc.name == "tag-only reference, resolved" || tc.name == "pinned, tag proven") {
			t.Errorf("%s: TagShown(%s) = %v", tc.name, got, shown)
		}
	}
	if TagShown("registry.example/app:v1@"+d, "sha256:eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", parse("registry.example/app:v1@"+d)) {
		t.Error("a record of another digest shows the tag")
	}
}
