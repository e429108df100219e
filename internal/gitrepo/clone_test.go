package gitrepo_test

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/imagegate/imagegate/internal/gitrepo"
	"github.com/imagegate/imagegate/internal/testenv"
)

// cloneGit runs the git CLI in a clone and returns its trimmed output.
func cloneGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput() //nolint:gosec // test arguments
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestCloneBareFetchesOneBranchWithItsHistory: the clone holds the
// branch asked for with every commit of it, readable by the git CLI, and
// no other branch.
func TestCloneBareFetchesOneBranchWithItsHistory(t *testing.T) {
	t.Parallel()
	srv := testenv.NewGitServer(t)
	url := srv.CreateRepo(t, "fleet", nil)
	srv.PushCommit(t, "fleet", "main", map[string]string{"a.yaml": "a: 1\n"}, "one")
	srv.PushCommit(t, "fleet", "main", map[string]string{"a.yaml": "a: 2\n"}, "two")
	cloneGit(t, srv.RepoDir("fleet"), "branch", "other", "main")
	srv.PushCommit(t, "fleet", "other", map[string]string{"b.yaml": "b: 1\n"}, "elsewhere")
	for _, branch := range []string{"main", ""} {
		dir := t.TempDir()
		head, err := gitrepo.CloneBare(context.Background(), gitrepo.CloneConfig{URL: url, Branch: branch}, dir)
		if err != nil {
			t.Fatalf("branch %q: %v", branch, err)
		}
		want := strings.Fields(srv.Log(t, "fleet", "main")[0])[0]
		if head != want || cloneGit(t, dir, "rev-parse", "HEAD") != want || cloneGit(t, dir, "rev-parse", "refs/heads/main") != want {
			t.Errorf("branch %q: head %s, want main's tip %s", branch, head, want)
		}
		if got := cloneGit(t, dir, "rev-list", "--count", "HEAD"); got != "3" {
			t.Errorf("branch %q: %s commits, want 3 (the seed and two)", branch, got)
		}
		if got := cloneGit(t, dir, "for-each-ref", "--format=%(refname)"); strings.Contains(got, "other") {
			t.Errorf("branch %q: refs %q, want main's only", branch, got)
		}
	}
}

// TestCloneBareRefusesMoreThanMaxBytes: a repository holding 256 KiB of
// incompressible data cannot be cloned under a 64 KiB bound, and can
// under 1 MiB.
func TestCloneBareRefusesMoreThanMaxBytes(t *testing.T) {
	t.Parallel()
	blob := make([]byte, 256<<10)
	_, _ = rand.Read(blob)
	srv := testenv.NewGitServer(t)
	url := srv.CreateRepo(t, "fleet", fstest.MapFS{"blob.bin": {Data: blob}})
	_, err := gitrepo.CloneBare(context.Background(), gitrepo.CloneConfig{URL: url, Branch: "main", MaxBytes: 64 << 10}, t.TempDir())
	if !errors.Is(err, gitrepo.ErrCloneTooBig) || !strings.Contains(err.Error(), "more than 65536 bytes") {
		t.Fatalf("clone under 64 KiB: %v, want ErrCloneTooBig naming the bound", err)
	}
	if _, err := gitrepo.CloneBare(context.Background(), gitrepo.CloneConfig{URL: url, Branch: "main", MaxBytes: 1 << 20}, t.TempDir()); err != nil {
		t.Fatalf("clone under 1 MiB: %v", err)
	}
}

// TestCloneBareErrorsAreClassified: credentials, a missing branch or
// repository, a stalled server and a file:// URL fail with the sentinel
// callers map to their exit statuses, and the password never appears.
func TestCloneBareErrorsAreClassified(t *testing.T) {
	t.Parallel()
	srv := testenv.NewGitServer(t, testenv.WithBasicAuth("alice", "s3cret-pw"))
	url := srv.CreateRepo(t, "fleet", nil)
	stall := testenv.NewStallingProxy(t, srv.URL(), testenv.HTTPStall{Request: "POST /fleet.git/git-upload-pack", Nth: 1, AfterBytes: 64})
	good := gitrepo.Auth{Username: "alice", Password: "s3cret-pw"}
	for _, tc := range []struct {
		name string
		cfg  gitrepo.CloneConfig
		want error
	}{
		{"wrong password", gitrepo.CloneConfig{URL: url, Auth: gitrepo.Auth{Username: "alice", Password: "wrong-pw"}}, gitrepo.ErrAuth},
		{"no credentials", gitrepo.CloneConfig{URL: url}, gitrepo.ErrAuth},
		{"missing branch", gitrepo.CloneConfig{URL: url, Auth: good, Branch: "nope"}, gitrepo.ErrBranchNotFound},
		{"missing repository", gitrepo.CloneConfig{URL: srv.URL() + "/none.git", Auth: good}, gitrepo.ErrRepositoryNotFound},
		{"stalled server", gitrepo.CloneConfig{URL: stall.URL() + "/fleet.git", Auth: good, Timeout: testTimeout}, gitrepo.ErrTimeout},
		{"file URL", gitrepo.CloneConfig{URL: "file://" + srv.RepoDir("fleet")}, gitrepo.ErrInvalidConfig},
		{"bad branch name", gitrepo.CloneConfig{URL: url, Auth: good, Branch: "a..b"}, gitrepo.ErrInvalidConfig},
	} {
		_, err := gitrepo.CloneBare(context.Background(), tc.cfg, filepath.Join(t.TempDir(), "clone"))
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret-pw") {
			t.Errorf("%s: error quotes the password: %v", tc.name, err)
		}
	}
	if _, err := gitrepo.CloneBare(context.Background(), gitrepo.CloneConfig{URL: url, Auth: good}, t.TempDir()); err != nil {
		t.Fatalf("right credentials: %v", err)
	}
	if _, err := os.Stat(srv.RepoDir("fleet")); err != nil {
		t.Fatal(err)
	}
}
