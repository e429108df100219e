package gitrepo_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/imagegate/imagegate/internal/gitrepo"
	"github.com/imagegate/imagegate/internal/testenv"
)

// receivePack is the request line of a smart-HTTP push to the fixture's
// repository "fleet".
const receivePack = "POST /fleet.git/git-receive-pack"

// TestUpdateServerGoneMidPush cuts the connection while the push request
// is on its way, at several points: the server never gets a usable pack,
// so the branch must not move and the repository must stay sound; the
// error must say "transient" (ErrUnreachable); and once the fault is gone
// the same Update lands exactly one commit. When the whole request got
// through and only the answer was lost, the push landed: Update must see
// that and report it pushed, and the retry must not add a second commit.
//
// Not parallel: every case checks that no goroutine outlives it.
func TestUpdateServerGoneMidPush(t *testing.T) {
	warmUpGit(t)
	for _, tc := range []struct {
		name   string
		keep   func(n int) int // body bytes that reach the server
		landed bool            // the server got the whole push and applied it
	}{
		{name: "after the headers", keep: func(int) int { return 0 }},
		{name: "inside the ref update command", keep: func(int) int { return 60 }},
		{name: "inside the pack", keep: func(n int) int { return n / 2 }},
		{name: "one byte short of the pack's end", keep: func(n int) int { return n - 1 }},
		{name: "whole request applied, answer lost", keep: func(n int) int { return n }, landed: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testenv.CheckGoroutines(t)
			srv := testenv.NewGitServer(t)
			srv.CreateRepo(t, "fleet", nil)
			proxy := testenv.NewCutProxy(t, strings.TrimPrefix(srv.URL(), "http://"))
			cfg := gitrepo.Config{URL: "http://" + proxy.Addr() + "/fleet.git", Checkout: gitrepo.BranchRef("main"), Author: author}
			before := srv.Log(t, "fleet", "main")
			change := writeFiles(map[string]string{"apps/app.yaml": "image: app:v2\n"}, "ours")

			proxy.CutNext(receivePack, tc.keep)
			res, err := gitrepo.Update(context.Background(), cfg, change)
			if proxy.Cuts() != 1 {
				t.Fatalf("the push was not cut (cuts = %d); Update = %+v, %v", proxy.Cuts(), res, err)
			}
			after := srv.Log(t, "fleet", "main")
			switch {
			case tc.landed && (err != nil || !res.Pushed || len(after) != len(before)+1 || hashes(after)[0] != res.Commit):
				t.Fatalf("the push landed (server log %q) but Update = %+v, %v; want it reported pushed", subjects(after), res, err)
			case tc.landed:
			case !equalStrings(before, after):
				t.Fatalf("a cut push moved the branch: %q -> %q", before, after)
			case !errors.Is(err, gitrepo.ErrUnreachable) || res.Pushed:
				t.Fatalf("Update = %+v, %v; want nothing pushed and ErrUnreachable (transient)", res, err)
			}
			t.Logf("cut %s: err = %v", tc.name, err)
			fsck(t, srv.RepoDir("fleet"))

			// The fault is gone (the proxy cuts once): the retry converges.
			res2, err := gitrepo.Update(context.Background(), cfg, change)
			if err != nil {
				t.Fatalf("retry after the fault: %v", err)
			}
			final := srv.Log(t, "fleet", "main")
			if got := subjects(final); len(got) != len(before)+1 || got[0] != "ours" {
				t.Fatalf("after the retry the log is %q, want exactly one commit of ours on %q", got, subjects(before))
			}
			if res2.Pushed == tc.landed || (res2.Pushed && hashes(final)[0] != res2.Commit) {
				t.Fatalf("retry = %+v after a first push that landed = %v: want exactly one push in all", res2, tc.landed)
			}
			if got := srv.File(t, "fleet", "main", "apps/app.yaml"); got != "image: app:v2\n" {
				t.Fatalf("apps/app.yaml = %q", got)
			}
			fsck(t, srv.RepoDir("fleet"))
		})
	}
}

// warmUpGit runs one Update before goroutines are counted, so that what
// go-git and net/http start once per process is not taken for a leak.
func warmUpGit(t *testing.T) {
	t.Helper()
	_, cfg := newRepo(t)
	if _, err := gitrepo.Update(context.Background(), cfg, writeFiles(map[string]string{"warm": "up"}, "warm up")); err != nil {
		t.Fatalf("warm-up update: %v", err)
	}
}

// fsck fails the test unless `git fsck` finds the bare repository sound
// (objects intact, every ref's history complete). Unreachable objects that
// a cut push may leave behind are garbage, not damage.
func fsck(t *testing.T, bare string) {
	t.Helper()
	gitOut(t, bare, "fsck", "--no-progress", "--no-dangling")
}
