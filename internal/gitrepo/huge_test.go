package gitrepo_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/imagegate/imagegate/internal/gitrepo"
	"github.com/imagegate/imagegate/internal/testenv"
)

// hugeFiles is the size of the repository TestUpdateHugeRepository writes
// to: a fleet repository of many small manifests (200 directories of 100).
const hugeFiles = 20000

// TestUpdateHugeRepository writes one file in a repository of 20,000
// files, an executable script and a symbolic link among them, while the
// change also rewrites a hundred other files with the bytes they already
// hold: the commit must differ from its parent in exactly the changed
// file, modes and the link untouched. It logs what one update costs.
//
// Not parallel: it measures time and allocations.
func TestUpdateHugeRepository(t *testing.T) {
	srv := testenv.NewGitServer(t)
	url := srv.CreateRepo(t, "fleet", nil)
	seedHuge(t, srv.RepoDir("fleet"))
	target := hugeName(4242)
	change := func(_ context.Context, dir string) (string, bool, error) {
		for i := range 100 { // rewritten with their own bytes: not a change
			name := filepath.Join(dir, hugeName(i*7))
			b, err := os.ReadFile(name)
			if err != nil {
				return "", false, err
			}
			if err := os.WriteFile(name, b, 0o600); err != nil {
				return "", false, err
			}
		}
		return "update one image", true, os.WriteFile(filepath.Join(dir, target), []byte("image: app:v2\n"), 0o600)
	}

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	requests := srv.Requests()
	start := time.Now()
	res, err := gitrepo.Update(context.Background(), gitrepo.Config{URL: url, Checkout: gitrepo.BranchRef("main"), Author: author}, change)
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	if err != nil || !res.Pushed {
		t.Fatalf("Update = %+v, %v", res, err)
	}
	t.Logf("update of 1 file among %d: %s, %d HTTP requests, %.0f MiB allocated", hugeFiles, took.Round(time.Millisecond),
		srv.Requests()-requests, float64(after.TotalAlloc-before.TotalAlloc)/(1<<20))

	bare := srv.RepoDir("fleet")
	if got := gitOut(t, bare, "diff-tree", "--no-commit-id", "-r", "--name-status", res.Commit); got != "M\t"+target+"\n" {
		t.Fatalf("the commit changes:\n%s\nwant exactly M %s", got, target)
	}
	if got := gitOut(t, bare, "ls-tree", res.Commit, "bin/run.sh", "latest.yaml"); !strings.Contains(got, "100755 blob") || !strings.Contains(got, "120000 blob") {
		t.Fatalf("modes after the update:\n%s\nwant the script executable and the link a link", got)
	}
}

func hugeName(i int) string { return fmt.Sprintf("apps/d%03d/f%04d.yaml", i/100, i) }

// seedHuge commits hugeFiles manifests, an executable script and a symbolic
// link on top of the bare repository, with the git CLI on its directory
// (the fixture's CGI server refuses the chunked pushes git sends of large
// packs).
func seedHuge(t *testing.T, bare string) {
	t.Helper()
	work := t.TempDir()
	gitOut(t, "", "clone", "--quiet", bare, work)
	for i := range hugeFiles {
		name := filepath.Join(work, hugeName(i))
		if i%100 == 0 {
			if err := os.MkdirAll(filepath.Dir(name), 0o750); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(name, fmt.Appendf(nil, "# manifest %d\nimage: app:v1\n", i), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(work, "bin"), 0o750); err != nil {
		t.Fatal(err)
	}
	// #nosec G306 -- an executable script is what the test checks.
	if err := os.WriteFile(filepath.Join(work, "bin", "run.sh"), []byte("#!/bin/sh\necho run\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(hugeName(0), filepath.Join(work, "latest.yaml")); err != nil {
		t.Fatal(err)
	}
	gitOut(t, work, "add", "--all")
	gitOut(t, work, "commit", "--quiet", "--message", "20,000 manifests")
	gitOut(t, work, "push", "--quiet", "origin", "HEAD:refs/heads/main")
}

// gitOut runs the git CLI, isolated from the user's configuration, and
// returns its output; a failure fails the test.
func gitOut(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	home := t.TempDir()
	// gc.auto=0: a commit of 20,000 files would start a background gc that
	// writes into the clone while the test's cleanup removes it.
	cmd.Env = append(os.Environ(), "HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
		"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=gc.auto", "GIT_CONFIG_VALUE_0=0",
		"GIT_AUTHOR_NAME=Seed", "GIT_AUTHOR_EMAIL=seed@example.test", "GIT_COMMITTER_NAME=Seed", "GIT_COMMITTER_EMAIL=seed@example.test")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out.String()
}
