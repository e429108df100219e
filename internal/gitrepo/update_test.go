package gitrepo_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/imagegate/imagegate/internal/gitrepo"
	"github.com/imagegate/imagegate/internal/testenv"
)

func TestUpdateCommitsAndPushes(t *testing.T) {
	t.Parallel()
	srv, cfg := newRepo(t)
	before := srv.Requests()
	message := "Update app to v2\n\nVerified-Image: registry.example/app:v2@sha256:abc\nVerified-Policy: apps/prod (sha256:def)\n"

	var dir string
	res, err := gitrepo.Update(context.Background(), cfg, recordDir(&dir, writeFiles(map[string]string{"apps/app.yaml": "image: app:v2\n"}, message)))
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	assertRemoved(t, dir)
	if !res.Pushed || res.Attempts != 1 || len(res.Commit) != 40 {
		t.Fatalf("Result = %+v, want one pushed commit in one attempt", res)
	}
	// list + clone (2) + push (2): the whole update in five HTTP requests.
	if n := srv.Requests() - before; n != 5 {
		t.Errorf("HTTP requests = %d, want 5", n)
	}

	clone, err := git.PlainClone(t.TempDir(), false, &git.CloneOptions{URL: cfg.URL})
	if err != nil {
		t.Fatalf("fresh clone: %v", err)
	}
	head, err := clone.Head()
	if err != nil || head.Hash().String() != res.Commit {
		t.Fatalf("fresh clone HEAD = %v, %v; want %s", head, err, res.Commit)
	}
	commit, err := clone.CommitObject(head.Hash())
	if err != nil {
		t.Fatal(err)
	}
	if commit.Message != message {
		t.Errorf("message = %q, want %q", commit.Message, message)
	}
	if commit.Author.Name != author.Name || commit.Author.Email != author.Email ||
		commit.Committer.Name != author.Name || commit.Committer.Email != author.Email {
		t.Errorf("author/committer = %v / %v, want %v", commit.Author, commit.Committer, author)
	}
	if commit.NumParents() != 1 {
		t.Errorf("commit has %d parents, want 1", commit.NumParents())
	}
	if got := srv.File(t, "fleet", "main", "apps/app.yaml"); got != "image: app:v2\n" {
		t.Errorf("apps/app.yaml on the server = %q", got)
	}
	if got := srv.CommitMessage(t, "fleet", res.Commit); got != message {
		t.Errorf("server commit message = %q, want %q", got, message)
	}
}

func TestUpdateWithoutChangeMakesNoCommit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		change gitrepo.Change
	}{
		{"change reports nothing", func(context.Context, string) (string, bool, error) { return "", false, nil }},
		{"change rewrites identical content", writeFiles(map[string]string{"README.md": "# test repository\n"}, "noop")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, cfg := newRepo(t)
			logBefore := srv.Log(t, "fleet", "main")
			reqBefore := srv.Requests()

			res, err := gitrepo.Update(context.Background(), cfg, tc.change)
			if err != nil {
				t.Fatalf("Update: %v", err)
			}
			if res.Pushed || res.Commit != "" || res.Attempts != 1 {
				t.Fatalf("Result = %+v, want nothing pushed after one attempt", res)
			}
			if logAfter := srv.Log(t, "fleet", "main"); !equalStrings(logBefore, logAfter) {
				t.Fatalf("server log changed: %q -> %q", logBefore, logAfter)
			}
			// list + clone, and no push.
			if n := srv.Requests() - reqBefore; n != 3 {
				t.Errorf("HTTP requests = %d, want 3 (no push)", n)
			}
		})
	}
}

func TestUpdateRetriesAfterConcurrentPush(t *testing.T) {
	t.Parallel()
	srv, cfg := newRepo(t)
	initial := srv.Log(t, "fleet", "main")
	calls := 0
	ours := writeFiles(map[string]string{"apps/app.yaml": "image: app:v2\n"}, "ours")
	change := func(ctx context.Context, dir string) (string, bool, error) {
		calls++
		if calls == 1 {
			// Another writer pushes between our clone and our push.
			srv.PushCommit(t, "fleet", "main", map[string]string{"apps/other.yaml": "image: other:v9\n"}, "theirs")
		}
		if _, err := os.Stat(filepath.Join(dir, "stale-from-attempt-1")); err == nil {
			return "", false, errors.New("a file of the previous attempt survived the reset")
		}
		if calls == 1 {
			if err := os.WriteFile(filepath.Join(dir, "stale-from-attempt-1"), []byte("x"), 0o600); err != nil {
				return "", false, err
			}
		}
		return ours(ctx, dir)
	}

	res, err := gitrepo.Update(context.Background(), cfg, change)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if !res.Pushed || res.Attempts != 2 || calls != 2 {
		t.Fatalf("Result = %+v after %d change calls, want pushed on attempt 2", res, calls)
	}
	log := srv.Log(t, "fleet", "main")
	if got, want := subjects(log), []string{"ours", "theirs", "Initial commit"}; !equalStrings(got, want) {
		t.Fatalf("server log subjects = %q, want %q (one commit of ours on top of theirs)", got, want)
	}
	if hashes(log)[0] != res.Commit || hashes(log)[2] != hashes(initial)[0] {
		t.Fatalf("server log %q does not end in our commit %s on top of the initial one", log, res.Commit)
	}
	if got := srv.File(t, "fleet", "main", "apps/other.yaml"); got != "image: other:v9\n" {
		t.Errorf("their change lost: apps/other.yaml = %q", got)
	}
	if got := srv.File(t, "fleet", "main", "apps/app.yaml"); got != "image: app:v2\n" {
		t.Errorf("our change missing: apps/app.yaml = %q", got)
	}
}

func TestUpdateGivesUpAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	srv, cfg := newRepo(t)
	cfg.MaxAttempts = 2
	calls := 0
	change := func(ctx context.Context, dir string) (string, bool, error) {
		calls++
		srv.PushCommit(t, "fleet", "main", map[string]string{"race.txt": strings.Repeat("x", calls)}, "theirs")
		return writeFiles(map[string]string{"ours.txt": "ours"}, "ours")(ctx, dir)
	}

	res, err := gitrepo.Update(context.Background(), cfg, change)
	if !errors.Is(err, gitrepo.ErrNonFastForward) {
		t.Fatalf("Update err = %v, want ErrNonFastForward", err)
	}
	if res.Pushed || res.Attempts != 2 || calls != 2 {
		t.Fatalf("Result = %+v after %d calls, want 2 failed attempts", res, calls)
	}
	for _, s := range subjects(srv.Log(t, "fleet", "main")) {
		if s == "ours" {
			t.Fatal("a commit of ours reached the server")
		}
	}
}

func TestUpdatePushRejectedByHook(t *testing.T) {
	t.Parallel()
	srv, cfg := newRepo(t)
	srv.SetPreReceiveHook(t, "fleet", "#!/bin/sh\necho 'main is protected: open a pull request' >&2\nexit 1\n")
	before := srv.Log(t, "fleet", "main")

	var dir string
	res, err := gitrepo.Update(context.Background(), cfg, recordDir(&dir, writeFiles(map[string]string{"a.yaml": "a"}, "ours")))
	if !errors.Is(err, gitrepo.ErrPushRejected) {
		t.Fatalf("Update err = %v, want ErrPushRejected", err)
	}
	assertRemoved(t, dir)
	if !strings.Contains(err.Error(), "main is protected: open a pull request") {
		t.Errorf("error %q does not carry the hook's message", err)
	}
	var gitErr *gitrepo.Error
	if !errors.As(err, &gitErr) || gitErr.Op != "push" || gitErr.Branch != "main" {
		t.Errorf("error %#v is not a push *Error for branch main", err)
	}
	if res.Pushed || res.Attempts != 1 {
		t.Errorf("Result = %+v, want one attempt, nothing pushed", res)
	}
	if after := srv.Log(t, "fleet", "main"); !equalStrings(before, after) {
		t.Errorf("server log changed: %q -> %q", before, after)
	}
}

func TestUpdateStagesAllChanges(t *testing.T) {
	t.Parallel()
	srv := testenv.NewGitServer(t)
	seed := t.TempDir()
	for name, content := range map[string]string{".gitignore": "*.tmp\n", "keep.yaml": "k", "gone.yaml": "g", "edit.yaml": "old"} {
		if err := os.WriteFile(filepath.Join(seed, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	url := srv.CreateRepo(t, "fleet", os.DirFS(seed))
	change := func(_ context.Context, dir string) (string, bool, error) {
		if err := os.Remove(filepath.Join(dir, "gone.yaml")); err != nil {
			return "", false, err
		}
		for name, content := range map[string]string{"edit.yaml": "new", "sub/new.yaml": "n", "scratch.tmp": "ignored"} {
			if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o750); err != nil {
				return "", false, err
			}
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
				return "", false, err
			}
		}
		return "edit, add, delete", true, nil
	}

	res, err := gitrepo.Update(context.Background(), gitrepo.Config{URL: url, Checkout: gitrepo.BranchRef("main"), Author: author}, change)
	if err != nil || !res.Pushed {
		t.Fatalf("Update = %+v, %v", res, err)
	}
	repo, err := git.PlainOpen(srv.RepoDir("fleet"))
	if err != nil {
		t.Fatal(err)
	}
	commit, err := repo.CommitObject(plumbing.NewHash(res.Commit))
	if err != nil {
		t.Fatal(err)
	}
	tree, err := commit.Tree()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{".gitignore": "*.tmp\n", "keep.yaml": "k", "edit.yaml": "new", "sub/new.yaml": "n"}
	got := map[string]string{}
	for _, name := range []string{".gitignore", "keep.yaml", "edit.yaml", "sub/new.yaml", "gone.yaml", "scratch.tmp"} {
		if f, err := tree.File(name); err == nil {
			got[name], _ = f.Contents()
		}
	}
	if len(got) != len(want) {
		t.Fatalf("committed tree = %v, want %v", got, want)
	}
	for name, content := range want {
		if got[name] != content {
			t.Errorf("%s = %q, want %q", name, got[name], content)
		}
	}
}
