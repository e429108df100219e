package charts_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	yamlv3 "go.yaml.in/yaml/v3"
)

// freeForm are values whose content is passed through as Kubernetes YAML:
// documented as one value, not key by key.
var freeForm = []string{"resources", "nodeSelector", "tolerations", "affinity", "labels", "annotations", "issuerRef"}

// valueDoc is one documented value of values.yaml.
type valueDoc struct {
	key     string
	comment string
}

// TestEveryValueDocumented: each value of values.yaml carries a comment
// and a row of README.md's table, and the table lists no value that does
// not exist.
func TestEveryValueDocumented(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc yamlv3.Node
	if err := yamlv3.Unmarshal(b, &doc); err != nil {
		t.Fatalf("values.yaml: %v", err)
	}
	values := leafValues(doc.Content[0], "")
	if len(values) < 30 {
		t.Fatalf("values.yaml yields %d values; the walk is broken", len(values))
	}
	readme, err := os.ReadFile(filepath.Join(chartDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([^`]+)` \\|").FindAllSubmatch(readme, -1) {
		listed = append(listed, string(m[1]))
	}
	var keys []string
	for _, v := range values {
		keys = append(keys, v.key)
		if v.comment == "" {
			t.Errorf("values.yaml: %s has no comment", v.key)
		}
		if !slices.Contains(listed, v.key) {
			t.Errorf("README.md does not list %s", v.key)
		}
	}
	for _, k := range listed {
		if !slices.Contains(keys, k) {
			t.Errorf("README.md lists %s, which values.yaml does not have", k)
		}
	}
}

// leafValues walks a mapping node down to the values a user sets.
func leafValues(n *yamlv3.Node, prefix string) []valueDoc {
	var out []valueDoc
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := prefix + k.Value
		if v.Kind == yamlv3.MappingNode && len(v.Content) > 0 && !slices.Contains(freeForm, k.Value) {
			out = append(out, leafValues(v, key+".")...)
			continue
		}
		out = append(out, valueDoc{key: key, comment: k.HeadComment})
	}
	return out
}
