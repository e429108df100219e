package config_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/imagegate/imagegate/internal/testenv"
)

// yamlBlock is a fenced YAML block of a Markdown file.
var yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")

// documented returns the objects of the YAML blocks of docs/<name>.
func documented(t *testing.T, name string) []*unstructured.Unstructured {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "docs", name))
	if err != nil {
		t.Fatal(err)
	}
	var out []*unstructured.Unstructured
	for _, m := range yamlBlock.FindAllStringSubmatch(string(b), -1) {
		for _, doc := range strings.Split(m[1], "\n---\n") {
			u := &unstructured.Unstructured{}
			if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
				t.Fatalf("docs/%s: a YAML block does not parse: %v\n%s", name, err, doc)
			}
			out = append(out, u)
		}
	}
	return out
}

// TestDocumentedObjectsAcceptedByAPIServer sends the objects that
// docs/install.md and docs/quickstart.md tell users to apply to the API
// server as a server-side dry run, as the installs' own are: imagegate's
// kinds, Flux's sources, and Flux's Kustomization and HelmRelease (their
// CRDs generated from kustomize-controller/api and helm-controller/api by
// `make thirdparty-crds`). kustomize's own kustomization files are counted
// but not sent. The counts catch a block that stopped being read.
func TestDocumentedObjectsAcceptedByAPIServer(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	for _, tc := range []struct {
		doc           string
		sent, notSent int
	}{
		{"install.md", 6, 4},
		{"quickstart.md", 8, 1},
	} {
		sent, notSent := 0, 0
		for _, o := range documented(t, tc.doc) {
			if o.GroupVersionKind().Group == "kustomize.config.k8s.io" {
				notSent++
				continue
			}
			if ns := o.GetNamespace(); ns != "" {
				testenv.EnsureNamespace(ctx, t, cp.Client, ns, nil)
			}
			sent++
			if err := testenv.DryRunApply(ctx, cp.Client, o); err != nil {
				t.Errorf("docs/%s: %s %s/%s: the API server refused it: %v", tc.doc, o.GetKind(), o.GetNamespace(), o.GetName(), err)
			}
		}
		if sent != tc.sent || notSent != tc.notSent {
			t.Errorf("docs/%s: %d objects sent and %d not, want %d and %d", tc.doc, sent, notSent, tc.sent, tc.notSent)
		}
	}
}
