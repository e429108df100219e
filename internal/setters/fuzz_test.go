package setters

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzApply checks, for any file content: Apply does not panic; a file
// without the marker token, or one Apply skips, stays byte-identical; a
// file Apply writes still parses, and its YAML tree equals the original's
// but for the planned values of marked scalars; a second Apply changes
// nothing.
func FuzzApply(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		dir := t.TempDir()
		file := filepath.Join(dir, "f.yaml")
		if err := os.WriteFile(file, in, 0o600); err != nil {
			t.Fatal(err)
		}
		res, err := Apply(dir, "", testImages())
		if err != nil {
			t.Fatalf("Apply: %v", err)
		}
		out, err := os.ReadFile(file) //nolint:gosec // test path
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Changes) == 0 || len(res.Skipped) > 0 {
			if !bytes.Equal(in, out) {
				t.Fatalf("file changed without a reported change (skipped %+v)", res.Skipped)
			}
			if !bytes.Contains(in, token) && len(res.Skipped) > 0 {
				t.Fatalf("unmarked file reported as skipped: %+v", res.Skipped)
			}
			return
		}
		before, err := decodeAll(in)
		if err != nil {
			t.Fatalf("changed a file that does not parse: %v", err)
		}
		after, err := decodeAll(out)
		if err != nil {
			t.Fatalf("rewritten file does not parse: %v\n%q\n%q", err, in, out)
		}
		p, _ := newPlan(testImages())
		if len(before) != len(after) {
			t.Fatalf("%d documents became %d", len(before), len(after))
		}
		for i := range before {
			if msg := sameTree(p, before[i], after[i], false); msg != "" {
				t.Fatalf("document %d: %s\n%q\n%q", i, msg, in, out)
			}
		}
		again, err := Apply(dir, "", testImages())
		if err != nil || len(again.Changes) != 0 {
			t.Fatalf("second Apply: changes %+v, err %v", again.Changes, err)
		}
	})
}

func decodeAll(b []byte) ([]*yaml.Node, error) {
	var docs []*yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		docs = append(docs, &n)
	}
}

// sameTree compares a and b as walkScalars sees them: planned marked
// scalars of a must hold their planned value in b, everything else
// (kinds, tags, values, comments, anchors, lines) must be equal.
func sameTree(p plan, a, b *yaml.Node, isValue bool) string {
	switch {
	case a.Kind != b.Kind || len(a.Content) != len(b.Content):
		return "shape differs at line " + strconv.Itoa(a.Line)
	case a.LineComment != b.LineComment || a.HeadComment != b.HeadComment || a.FootComment != b.FootComment:
		return "comments differ at line " + strconv.Itoa(a.Line)
	case a.Anchor != b.Anchor || a.Line != b.Line:
		return "anchor or line differs at line " + strconv.Itoa(a.Line)
	}
	if a.Kind == yaml.ScalarNode && isValue {
		if m, ok := markerOf(a); ok {
			if t, ok := p[m]; ok {
				// An explicit tag is kept, as kyaml keeps it for Flux.
				wantTag := "!!str"
				if a.Style&yaml.TaggedStyle != 0 {
					wantTag = a.Tag
				}
				if b.Value != t.value || b.Tag != wantTag {
					return "marked value at line " + strconv.Itoa(a.Line) + " is " + b.Value + " (" + b.Tag + "), want " + t.value + " (" + wantTag + ")"
				}
				return ""
			}
		}
	}
	if a.Value != b.Value || a.Tag != b.Tag || a.Style != b.Style {
		return "value differs at line " + strconv.Itoa(a.Line)
	}
	for i := range a.Content {
		child := a.Kind != yaml.MappingNode || i%2 == 1
		if msg := sameTree(p, a.Content[i], b.Content[i], child); msg != "" {
			return msg
		}
	}
	return ""
}

// fuzzSeeds are the golden originals and a few shapes the golden cases
// do not hold.
func fuzzSeeds(f *testing.F) [][]byte {
	f.Helper()
	seeds := [][]byte{
		[]byte("image: app:v1 # {\"$imagepolicy\": \"flux-system:app\"}\n"),
		[]byte("a: \"x\\\"y\" # {\"$imagepolicy\": \"flux-system:app:tag\"}\r\nb: 'it''s' # {\"$imagepolicy\": \"apps:api:tag\"}\r\n"),
		[]byte("- &a !!str x # {\"$imagepolicy\": \"flux-system:web\"}\n- *a\n- [y, z # {\"$imagepolicy\": \"flux-system:web:name\"}\n  ]\n"),
		[]byte("k: |\n  image: x # {\"$imagepolicy\": \"flux-system:app\"}\n"),
		[]byte("\ufeffk: v # {\"$imagepolicy\": \"flux-system:app:digest\"}\n---\nk: \"a\u0085b\"\nv: x # {\"$imagepolicy\": \"flux-system:app\"}\n"),
		[]byte("no token here: [1, 2]\n"),
	}
	err := filepath.WalkDir("testdata", func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.Contains(filepath.ToSlash(p), "/expected/") {
			return err
		}
		data, err := os.ReadFile(p) //nolint:gosec // test data
		seeds = append(seeds, data)
		return err
	})
	if err != nil {
		f.Fatal(err)
	}
	return seeds
}
