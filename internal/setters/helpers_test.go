package setters

import (
	"strings"
	"testing"
)

// Policies and images shared by the tests. blocked has markers in the
// test data but no image: it stands for an unverified selection.
var (
	polApp = Policy{Namespace: "flux-system", Name: "app"}
	polWeb = Policy{Namespace: "flux-system", Name: "web"}
	polAPI = Policy{Namespace: "apps", Name: "api"}

	imgApp = Image{Name: "registry.example/app", Tag: "v1.2.3", Digest: "sha256:" + strings.Repeat("0123456789abcdef", 4)}
	imgWeb = Image{Name: "ghcr.io/org/web", Tag: "2.0.1", Digest: "sha256:" + strings.Repeat("fedcba9876543210", 4)}
	// imgAPI has a tag that YAML reads as a float when unquoted.
	imgAPI = Image{Name: "registry.example:5000/team/api", Tag: "1.10", Digest: "sha256:" + strings.Repeat("a", 64)}
)

func testImages() map[Policy]Image {
	return map[Policy]Image{polApp: imgApp, polWeb: imgWeb, polAPI: imgAPI}
}

// rewriteString runs the in-memory part of Apply on one file.
func rewriteString(t *testing.T, in string) (string, fileEdit) {
	t.Helper()
	p, err := newPlan(testImages())
	if err != nil {
		t.Fatal(err)
	}
	fe := p.rewrite("f.yaml", []byte(in))
	if fe.skip != "" || len(fe.edits) == 0 {
		return in, fe
	}
	return string(apply([]byte(in), fe.edits, nil)), fe
}
