package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/imagegate/imagegate/internal/testenv"
)

// TestDockerfileBuildsAStaticBinaryFromWhatItCopies runs the Dockerfile's
// build step without Docker: only the files its COPY lines bring into the
// build context, its exact `go build` command with a VERSION, and checks
// the result is a static binary (distroless/static has no libc) that
// reports that version.
func TestDockerfileBuildsAStaticBinaryFromWhatItCopies(t *testing.T) {
	t.Parallel()
	root := testenv.ModuleRoot()
	b, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	// Join continuation lines, then read the build stage.
	text := strings.ReplaceAll(string(b), "\\\n", " ")
	ctx := t.TempDir()
	var build string
	for line := range strings.SplitSeq(text, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[0] == "COPY" && !strings.HasPrefix(f[1], "--from"):
			for _, src := range f[1 : len(f)-1] {
				copyTree(t, filepath.Join(root, src), filepath.Join(ctx, src))
			}
		case len(f) > 1 && f[0] == "RUN" && strings.Contains(line, "go build"):
			build = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "RUN"))
		}
	}
	if build == "" {
		t.Fatal("the Dockerfile has no RUN ... go build")
	}
	out := filepath.Join(t.TempDir(), "out")
	build = regexp.MustCompile(`/out/`).ReplaceAllString(build, out+"/")
	cmd := exec.Command("sh", "-c", build)
	cmd.Dir = ctx
	cmd.Env = append(os.Environ(), "VERSION=v9.9.9-test")
	if o, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", build, err, o)
	}
	bin := filepath.Join(out, "imagegate")
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary needs a dynamic loader; distroless/static has none (CGO_ENABLED=0 lost?)")
		}
	}
	v, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil || !strings.Contains(string(v), "v9.9.9-test") {
		t.Errorf("imagegate version: %v %q, want the VERSION build argument", err, v)
	}
}

// copyTree copies a file or a directory tree.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		b, err := os.ReadFile(path) //nolint:gosec // files of this repository.
		if err != nil {
			return err
		}
		return os.WriteFile(to, b, 0o600)
	})
	if err != nil {
		t.Fatalf("copying %s: %v", src, err)
	}
}
