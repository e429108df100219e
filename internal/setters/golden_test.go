package setters

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestGolden copies testdata/<case>/original to a temporary directory,
// applies the test images and compares every file with
// testdata/<case>/expected byte for byte. The files Apply reports as
// changed must be exactly those whose expected bytes differ.
func TestGolden(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		path    string
		skipped []string
	}{
		{name: "marker-ref"},
		{name: "marker-tag"},
		{name: "marker-name"},
		{name: "marker-digest"},
		{name: "multi-doc"},
		{name: "helm-values"},
		{name: "kustomization"},
		{name: "quoted"},
		{name: "no-markers"},
		{name: "broken-yaml", skipped: []string{"broken.yaml", "notes.txt"}},
		{name: "policy-missing"},
		{name: "nested"},
		{name: "path-subdir", path: "apps/prod"},
		{name: "path-subdir", path: "./apps/prod/"},
	}
	for _, tc := range cases {
		name := tc.name
		if tc.path != "" {
			name += " path=" + tc.path
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			original := filepath.Join("testdata", tc.name, "original")
			expected := filepath.Join("testdata", tc.name, "expected")
			dir := t.TempDir()
			copyTree(t, original, dir)

			res, err := Apply(dir, tc.path, testImages())
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			got := readTree(t, dir)
			want := readTree(t, expected)
			compareTrees(t, got, want)

			if files := res.Files(); !slices.Equal(files, differing(t, original, expected)) {
				t.Errorf("Files() = %v, want the files that differ: %v", files, differing(t, original, expected))
			}
			var skipped []string
			for _, s := range res.Skipped {
				skipped = append(skipped, s.File)
			}
			if !slices.Equal(skipped, tc.skipped) {
				t.Errorf("skipped %v, want %v (%+v)", skipped, tc.skipped, res.Skipped)
			}

			again, err := Apply(dir, tc.path, testImages())
			if err != nil || len(again.Changes) != 0 {
				t.Errorf("second Apply changed %+v, err %v; want nothing", again.Changes, err)
			}
		})
	}
}

func compareTrees(t *testing.T, got, want map[string][]byte) {
	t.Helper()
	for name, w := range want {
		g, ok := got[name]
		switch {
		case !ok:
			t.Errorf("%s missing", name)
		case !bytes.Equal(g, w):
			t.Errorf("%s differs:\ngot:\n%s\nwant:\n%s", name, g, w)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("unexpected file %s", name)
		}
	}
}

// differing lists, sorted, the files whose bytes differ between two trees.
func differing(t *testing.T, a, b string) []string {
	t.Helper()
	at, bt := readTree(t, a), readTree(t, b)
	var out []string
	for name, data := range at {
		if !bytes.Equal(data, bt[name]) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// readTree maps slash paths relative to dir to file contents.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p) //nolint:gosec // test fixture path
		files[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// copyTree copies the regular files of src into dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	for name, data := range readTree(t, src) {
		p := filepath.Join(dst, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
