package gitrepo_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/imagegate/imagegate/internal/gitrepo"
	"github.com/imagegate/imagegate/internal/testenv"
)

var author = gitrepo.Signature{Name: "imagegate", Email: "imagegate@example.test"}

// newRepo starts a git server with one repository "fleet" and returns the
// server and a Config that writes to its main branch.
func newRepo(t *testing.T, opts ...testenv.GitServerOption) (*testenv.GitServer, gitrepo.Config) {
	t.Helper()
	srv := testenv.NewGitServer(t, opts...)
	url := srv.CreateRepo(t, "fleet", nil)
	return srv, gitrepo.Config{URL: url, Checkout: gitrepo.BranchRef("main"), Author: author}
}

// writeFiles is a Change that writes files (relative slash paths) and
// commits with message.
func writeFiles(files map[string]string, message string) gitrepo.Change {
	return func(_ context.Context, dir string) (string, bool, error) {
		for name, content := range files {
			path := filepath.Join(dir, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
				return "", false, err
			}
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				return "", false, err
			}
		}
		return message, true, nil
	}
}

// subjects returns the commit subjects of a server log, newest first.
func subjects(log []string) []string {
	out := make([]string, len(log))
	for i, line := range log {
		_, subject, _ := strings.Cut(line, " ")
		out[i] = subject
	}
	return out
}

// hashes returns the commit hashes of a server log, newest first.
func hashes(log []string) []string {
	out := make([]string, len(log))
	for i, line := range log {
		out[i], _, _ = strings.Cut(line, " ")
	}
	return out
}

func equalStrings(a, b []string) bool { return slices.Equal(a, b) }

// recordDir wraps change to remember the worktree directory it was given.
func recordDir(dir *string, change gitrepo.Change) gitrepo.Change {
	return func(ctx context.Context, d string) (string, bool, error) {
		*dir = d
		return change(ctx, d)
	}
}

// assertRemoved fails unless Update removed its temporary worktree.
func assertRemoved(t *testing.T, dir string) {
	t.Helper()
	if dir == "" {
		t.Fatal("change never ran")
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("worktree %s still exists after Update returned (stat err %v)", dir, err)
	}
}
