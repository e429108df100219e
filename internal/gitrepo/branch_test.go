package gitrepo_test

import (
	"context"
	"errors"
	"testing"

	"github.com/imagegate/imagegate/internal/gitrepo"
)

func TestUpdatePushBranch(t *testing.T) {
	t.Parallel()
	srv, cfg := newRepo(t)
	cfg.PushBranch = "image-updates"
	mainLog := srv.Log(t, "fleet", "main")

	// First update: the push branch does not exist and is created from main.
	first, err := gitrepo.Update(context.Background(), cfg, writeFiles(map[string]string{"a.yaml": "v1"}, "first"))
	if err != nil || !first.Pushed {
		t.Fatalf("first Update = %+v, %v", first, err)
	}
	// main moves on; the second update must build on the push branch, not on
	// main (which would be a non-fast-forward push to image-updates).
	srv.PushCommit(t, "fleet", "main", map[string]string{"unrelated.txt": "u"}, "on main")
	second, err := gitrepo.Update(context.Background(), cfg, writeFiles(map[string]string{"b.yaml": "v2"}, "second"))
	if err != nil || !second.Pushed || second.Attempts != 1 {
		t.Fatalf("second Update = %+v, %v", second, err)
	}

	got := subjects(srv.Log(t, "fleet", "image-updates"))
	if want := []string{"second", "first", "Initial commit"}; !equalStrings(got, want) {
		t.Fatalf("image-updates log = %q, want %q", got, want)
	}
	if got := srv.File(t, "fleet", "image-updates", "a.yaml"); got != "v1" {
		t.Errorf("a.yaml on image-updates = %q, want the first update kept", got)
	}
	if log := srv.Log(t, "fleet", "main"); len(log) != len(mainLog)+1 {
		t.Errorf("main log = %q: only the unrelated commit should have been added", log)
	}
}

func TestUpdatePushRefspec(t *testing.T) {
	t.Parallel()
	srv, cfg := newRepo(t)
	cfg.PushRefspec = "HEAD:refs/heads/review/image-update"

	res, err := gitrepo.Update(context.Background(), cfg, writeFiles(map[string]string{"a.yaml": "v1"}, "via refspec"))
	if err != nil || !res.Pushed {
		t.Fatalf("Update = %+v, %v", res, err)
	}
	for _, branch := range []string{"main", "review/image-update"} {
		if log := srv.Log(t, "fleet", branch); len(log) == 0 || hashes(log)[0] != res.Commit {
			t.Errorf("branch %s log = %q, want our commit %s on top", branch, log, res.Commit)
		}
	}
}

func TestUpdatePushOptionsReachHooks(t *testing.T) {
	t.Parallel()
	srv, cfg := newRepo(t)
	// The hook only accepts pushes carrying the option imagegate.gate=yes.
	// (go-git always sends KEY=VALUE: an empty value still sends "KEY=".)
	srv.SetPreReceiveHook(t, "fleet", "#!/bin/sh\n[ \"$GIT_PUSH_OPTION_0\" = imagegate.gate=yes ] && exit 0\necho \"missing push option, got '$GIT_PUSH_OPTION_0'\" >&2\nexit 1\n")

	if _, err := gitrepo.Update(context.Background(), cfg, writeFiles(map[string]string{"a": "1"}, "no option")); !errors.Is(err, gitrepo.ErrPushRejected) {
		t.Fatalf("push without option: err = %v, want ErrPushRejected", err)
	}
	cfg.PushOptions = map[string]string{"imagegate.gate": "yes"}
	res, err := gitrepo.Update(context.Background(), cfg, writeFiles(map[string]string{"a": "1"}, "with option"))
	if err != nil || !res.Pushed {
		t.Fatalf("push with option imagegate.gate=yes: %+v, %v", res, err)
	}
}
