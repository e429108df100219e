package testenv

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
)

// pushWithGoGit clones url, writes file, commits and pushes with go-git, the
// library the gate uses, and returns the push error.
func pushWithGoGit(t *testing.T, url string, auth transport.AuthMethod, caBundle []byte, file, content string) error {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	repo, err := git.PlainCloneContext(ctx, dir, false, &git.CloneOptions{URL: url, Auth: auth, CABundle: caBundle})
	if err != nil {
		t.Fatalf("clone %s: %v", url, err)
	}
	if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wt.Add(file); err != nil {
		t.Fatal(err)
	}
	sig := &object.Signature{Name: "Go Git", Email: "gogit@example.test", When: time.Now()}
	if _, err := wt.Commit("add "+file, &git.CommitOptions{Author: sig}); err != nil {
		t.Fatal(err)
	}
	return repo.PushContext(ctx, &git.PushOptions{Auth: auth, CABundle: caBundle})
}

func TestGitServerPushVisibleInFreshClone(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts []GitServerOption
	}{
		{name: "http"},
		{name: "https", opts: []GitServerOption{WithTLS()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := NewGitServer(t, tc.opts...)
			url := srv.CreateRepo(t, "apps", nil)
			if err := pushWithGoGit(t, url, nil, srv.CACert(), "app.yaml", "image: app:v1\n"); err != nil {
				t.Fatalf("push: %v", err)
			}

			clone := t.TempDir()
			if _, err := git.PlainClone(clone, false, &git.CloneOptions{URL: url, CABundle: srv.CACert()}); err != nil {
				t.Fatalf("fresh clone: %v", err)
			}
			got, err := os.ReadFile(filepath.Join(clone, "app.yaml"))
			if err != nil || string(got) != "image: app:v1\n" {
				t.Fatalf("fresh clone app.yaml = %q, %v; want the pushed content", got, err)
			}
			log := srv.Log(t, "apps", "main")
			if len(log) != 2 || !strings.HasSuffix(log[0], " add app.yaml") || !strings.HasSuffix(log[1], " Initial commit") {
				t.Fatalf("server log = %q, want the pushed commit on top of the initial one", log)
			}
			if srv.File(t, "apps", "main", "README.md") == "" {
				t.Fatal("README.md of the nil seed is missing")
			}
		})
	}
}

func TestGitServerBasicAuth(t *testing.T) {
	t.Parallel()
	srv := NewGitServer(t, WithBasicAuth("bot", "s3cret"))
	url := srv.CreateRepo(t, "private", nil)

	_, err := git.PlainClone(t.TempDir(), false, &git.CloneOptions{URL: url})
	if !errors.Is(err, transport.ErrAuthenticationRequired) {
		t.Fatalf("clone without credentials: err = %v, want %v", err, transport.ErrAuthenticationRequired)
	}
	wrong := &githttp.BasicAuth{Username: "bot", Password: "wrong"}
	if _, err := git.PlainClone(t.TempDir(), false, &git.CloneOptions{URL: url, Auth: wrong}); !errors.Is(err, transport.ErrAuthenticationRequired) {
		t.Fatalf("clone with a wrong password: err = %v, want %v", err, transport.ErrAuthenticationRequired)
	}
	before := srv.Requests()
	auth := &githttp.BasicAuth{Username: "bot", Password: "s3cret"}
	if err := pushWithGoGit(t, url, auth, nil, "a.txt", "a"); err != nil {
		t.Fatalf("push with credentials: %v", err)
	}
	if srv.Requests() <= before {
		t.Fatalf("Requests() did not grow with an authenticated clone and push (%d -> %d)", before, srv.Requests())
	}
}

func TestGitServerPreReceiveHookRejects(t *testing.T) {
	t.Parallel()
	srv := NewGitServer(t)
	url := srv.CreateRepo(t, "guarded", nil)
	before := srv.Log(t, "guarded", "main")
	srv.SetPreReceiveHook(t, "guarded", "#!/bin/sh\necho 'branch main is protected' >&2\nexit 1\n")

	err := pushWithGoGit(t, url, nil, nil, "b.txt", "b")
	if err == nil || !strings.Contains(err.Error(), "pre-receive hook declined") {
		t.Fatalf("push through a rejecting hook: err = %v, want a hook rejection", err)
	}
	if after := srv.Log(t, "guarded", "main"); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Fatalf("server log changed after a rejected push: %q -> %q", before, after)
	}

	srv.SetPreReceiveHook(t, "guarded", "")
	srv.PushCommit(t, "guarded", "main", map[string]string{"dir/c.txt": "c"}, "concurrent change")
	if got := srv.File(t, "guarded", "main", "dir/c.txt"); got != "c" {
		t.Fatalf("after removing the hook, PushCommit's file = %q, want %q", got, "c")
	}
	log := srv.Log(t, "guarded", "main")
	if len(log) != 2 || !strings.HasSuffix(log[0], " concurrent change") {
		t.Fatalf("server log = %q, want PushCommit's commit on top", log)
	}
	if msg := srv.CommitMessage(t, "guarded", "main"); msg != "concurrent change\n" {
		t.Fatalf("CommitMessage = %q, want %q", msg, "concurrent change\n")
	}
	if srv.Log(t, "guarded", "no-such-branch") != nil {
		t.Fatal("Log of a missing branch is not nil")
	}
}

func TestGitServerCreateRepoCopiesSeed(t *testing.T) {
	t.Parallel()
	srv := NewGitServer(t)
	seed := t.TempDir()
	if err := os.MkdirAll(filepath.Join(seed, "clusters", "prod"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(seed, "clusters", "prod", "app.yaml"), []byte("kind: Deployment\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv.CreateRepo(t, "org/fleet", os.DirFS(seed))
	if got := srv.File(t, "org/fleet", "main", "clusters/prod/app.yaml"); got != "kind: Deployment\n" {
		t.Fatalf("seeded file = %q", got)
	}
	if _, err := os.Stat(filepath.Join(srv.RepoDir("org/fleet"), "HEAD")); err != nil {
		t.Fatalf("RepoDir is not the bare repository: %v", err)
	}
}
