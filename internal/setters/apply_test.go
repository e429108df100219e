package setters

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const markedApp = "image: registry.example/app:v1.0.0 # {\"$imagepolicy\": \"flux-system:app\"}\n"

func writeFile(t testing.TB, path, data string, mode fs.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // defeat the umask
		t.Fatal(err)
	}
}

func readString(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path) //nolint:gosec // test path
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestApplyRejectsBadPaths(t *testing.T) {
	t.Parallel()
	outside := t.TempDir()
	writeFile(t, filepath.Join(outside, "x.yaml"), markedApp, 0o600)
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "in.yaml"), markedApp, 0o600)
	if err := os.Symlink(outside, filepath.Join(root, "escape")); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, root, path string }{
		{"absolute", root, outside},
		{"dot dot", root, "../x"},
		{"dot dot inside", root, "a/../../x"},
		{"missing path", root, "nope"},
		{"missing root", filepath.Join(root, "nope"), ""},
		{"symlink out of root", root, "escape"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := Apply(tc.root, tc.path, testImages())
			if !errors.Is(err, ErrInvalidPath) {
				t.Fatalf("err = %v, want ErrInvalidPath", err)
			}
			if len(res.Changes) != 0 {
				t.Errorf("changes %+v on a bad path", res.Changes)
			}
		})
	}
	if readString(t, filepath.Join(outside, "x.yaml")) != markedApp || readString(t, filepath.Join(root, "in.yaml")) != markedApp {
		t.Error("a file was written despite a bad path")
	}
}

func TestApplyRejectsBadImages(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		img  Image
	}{
		{"empty", Image{}},
		{"no digest", Image{Name: "registry.example/app", Tag: "v1"}},
		{"no tag", Image{Name: "registry.example/app", Digest: imgApp.Digest}},
		{"upper case path", Image{Name: "registry.example/App", Tag: "v1", Digest: imgApp.Digest}},
		{"space in tag", Image{Name: "registry.example/app", Tag: "v1 # x", Digest: imgApp.Digest}},
		{"newline in name", Image{Name: "app\nx: y", Tag: "v1", Digest: imgApp.Digest}},
		{"short sha256", Image{Name: "registry.example/app", Tag: "v1", Digest: "sha256:abc"}},
		{"upper hex", Image{Name: "registry.example/app", Tag: "v1", Digest: "sha256:" + strings.Repeat("A", 64)}},
		{"tag too long", Image{Name: "registry.example/app", Tag: strings.Repeat("v", 129), Digest: imgApp.Digest}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "f.yaml"), markedApp, 0o600)
			_, err := Apply(dir, "", map[Policy]Image{polApp: tc.img})
			if !errors.Is(err, ErrInvalidImage) {
				t.Fatalf("err = %v, want ErrInvalidImage", err)
			}
			if readString(t, filepath.Join(dir, "f.yaml")) != markedApp {
				t.Error("file written with an invalid image")
			}
		})
	}
}

func TestApplyDoesNotFollowSymlinks(t *testing.T) {
	t.Parallel()
	outside := t.TempDir()
	writeFile(t, filepath.Join(outside, "dir", "x.yaml"), markedApp, 0o600)
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "real.yaml"), markedApp, 0o600)
	for link, target := range map[string]string{
		"dirlink":       filepath.Join(outside, "dir"),
		"filelink.yaml": filepath.Join(outside, "dir", "x.yaml"),
		"inner.yaml":    "real.yaml",
	} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	res, err := Apply(root, "", testImages())
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Files(); len(got) != 1 || got[0] != "real.yaml" {
		t.Errorf("changed %v, want only real.yaml", got)
	}
	if readString(t, filepath.Join(outside, "dir", "x.yaml")) != markedApp {
		t.Error("a file outside the root was rewritten")
	}
	if fi, err := os.Lstat(filepath.Join(root, "inner.yaml")); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("symlink inside the root was replaced: %v %v", fi, err)
	}
}

func TestApplySkipsGitDirectories(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeFile(t, filepath.Join(root, ".git", "hooks.yaml"), markedApp, 0o600)
	writeFile(t, filepath.Join(root, "sub", ".git", "x.yaml"), markedApp, 0o600)
	writeFile(t, filepath.Join(root, "sub", "app.yaml"), markedApp, 0o600)
	res, err := Apply(root, "", testImages())
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Files(); len(got) != 1 || got[0] != "sub/app.yaml" {
		t.Errorf("changed %v, want only sub/app.yaml", got)
	}
	for _, p := range []string{".git/hooks.yaml", "sub/.git/x.yaml"} {
		if readString(t, filepath.Join(root, p)) != markedApp {
			t.Errorf("%s was rewritten", p)
		}
	}
}

func TestApplyKeepsModeAndInode(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	modes := map[string]fs.FileMode{"a.yaml": 0o640, "b.yaml": 0o755, "c.yaml": 0o600}
	for name, mode := range modes {
		writeFile(t, filepath.Join(root, name), markedApp, mode)
	}
	// A hard link shows whether the file was rewritten in place.
	link := filepath.Join(t.TempDir(), "link.yaml")
	if err := os.Link(filepath.Join(root, "a.yaml"), link); err != nil {
		t.Fatal(err)
	}
	res, err := Apply(root, ".", testImages())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changes) != len(modes) {
		t.Fatalf("changes %+v, want one per file", res.Changes)
	}
	if !strings.Contains(readString(t, link), imgApp.Ref()) {
		t.Error("a.yaml was replaced, not rewritten in place: its hard link kept the old content")
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(modes) {
		t.Errorf("directory holds %d entries, want %d (a stray file left?)", len(entries), len(modes))
	}
	for name, mode := range modes {
		fi, err := os.Stat(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s mode %v, want %v", name, fi.Mode().Perm(), mode)
		}
		if !strings.Contains(readString(t, filepath.Join(root, name)), imgApp.Ref()) {
			t.Errorf("%s not rewritten", name)
		}
	}
}

func TestApplyPathNamesOneFile(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "apps", "a.yaml"), markedApp, 0o600)
	writeFile(t, filepath.Join(root, "apps", "b.yaml"), markedApp, 0o600)
	res, err := Apply(root, "apps/b.yaml", testImages())
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Files(); len(got) != 1 || got[0] != "apps/b.yaml" {
		t.Errorf("changed %v, want apps/b.yaml (paths relative to the root)", got)
	}
}

func TestApplyWriteFailureLeavesFileIntact(t *testing.T) {
	t.Parallel()
	if os.Geteuid() == 0 {
		t.Skip("root ignores directory permissions")
	}
	root := t.TempDir()
	dir := filepath.Join(root, "ro")
	writeFile(t, filepath.Join(dir, "a.yaml"), markedApp, 0o600)
	if err := os.Chmod(dir, 0o555); err != nil { //nolint:gosec // a read-only directory is the point
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(dir, 0o755) }) //nolint:gosec // let TempDir clean up
	_, err := Apply(root, "", testImages())
	if err == nil || !strings.Contains(err.Error(), "ro/a.yaml") {
		t.Fatalf("err = %v, want a write error naming ro/a.yaml", err)
	}
	if readString(t, filepath.Join(dir, "a.yaml")) != markedApp {
		t.Error("file changed although the write failed")
	}
}

func TestApplyReportsLargeMarkedFiles(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	filler := strings.Repeat("# padding padding padding padding\n", DefaultLimits.MaxFileBytes/34+1)
	writeFile(t, filepath.Join(root, "big.yaml"), filler+markedApp, 0o600)
	writeFile(t, filepath.Join(root, "big-unmarked.yaml"), filler, 0o600)
	res, err := Apply(root, "", testImages())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Skipped) != 1 || res.Skipped[0].File != "big.yaml" || !strings.Contains(res.Skipped[0].Reason, "larger than the limit of 4194304 bytes") {
		t.Errorf("skipped %+v, want big.yaml as too large", res.Skipped)
	}
	if len(res.Changes) != 0 {
		t.Errorf("changes %+v in a file too large to parse", res.Changes)
	}
}

func TestStreamContainsAcrossChunks(t *testing.T) {
	t.Parallel()
	head := []byte(strings.Repeat("x", 100) + "$image")
	for _, tc := range []struct {
		rest string
		want bool
	}{
		{rest: "policy", want: true},
		{rest: strings.Repeat("y", 64<<10-3) + "$imagepolicy", want: true},
		{rest: strings.Repeat("y", 3*64<<10) + "$imagepolic", want: false},
	} {
		got, err := streamContains(strings.NewReader(tc.rest), head)
		if err != nil || got != tc.want {
			t.Errorf("streamContains(..%q) = %v, %v; want %v", tc.rest[max(0, len(tc.rest)-12):], got, err, tc.want)
		}
	}
}

// TestApplyResultsInPathOrder checks that the parallel workers do not
// leak their scheduling into the Result: changes and skips come in path
// order, as a sequential walk would give them.
func TestApplyResultsInPathOrder(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	var wantChanged, wantSkipped []string
	for d := range 4 {
		for f := range 50 {
			name := filepath.ToSlash(filepath.Join(fmt.Sprintf("d%d", d), fmt.Sprintf("f%03d.yaml", f)))
			content := markedApp
			switch f % 5 {
			case 1:
				content = "image: x # not marked\n"
			case 2:
				content = "image: [x # {\"$imagepolicy\": \"flux-system:app\"}\n"
				wantSkipped = append(wantSkipped, name)
			default:
				wantChanged = append(wantChanged, name)
			}
			writeFile(t, filepath.Join(root, filepath.FromSlash(name)), content, 0o600)
		}
	}
	res, err := Apply(root, "", testImages())
	if err != nil {
		t.Fatal(err)
	}
	var changed, skipped []string
	for _, c := range res.Changes {
		changed = append(changed, c.File)
	}
	for _, s := range res.Skipped {
		skipped = append(skipped, s.File)
	}
	if !slices.Equal(changed, wantChanged) || !slices.Equal(skipped, wantSkipped) {
		t.Errorf("changed %v\nskipped %v\nwant %v\nand %v", changed, skipped, wantChanged, wantSkipped)
	}
}
