package gitrepo_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/imagegate/imagegate/internal/gitrepo"
)

// TestUpdateFromATagBranchesOffItsCommit checks out a tag (annotated and
// lightweight): the first update creates the push branch from the tag's
// commit, not from main's tip, and the next builds on the push branch.
func TestUpdateFromATagBranchesOffItsCommit(t *testing.T) {
	t.Parallel()
	for _, annotated := range []bool{true, false} {
		srv, cfg := newRepo(t)
		tagged := srv.Tag(t, "fleet", "v1.0.0", "main", annotated)
		srv.PushCommit(t, "fleet", "main", map[string]string{"later.txt": "l"}, "after the release")
		cfg.Checkout, cfg.PushBranch = gitrepo.TagRef("v1.0.0"), "release-updates"

		first, err := gitrepo.Update(context.Background(), cfg, writeFiles(map[string]string{"a.yaml": "v1"}, "first"))
		if err != nil || !first.Pushed {
			t.Fatalf("annotated=%v: first Update = %+v, %v", annotated, first, err)
		}
		log := srv.Log(t, "fleet", "release-updates")
		if len(log) != 2 || hashes(log)[0] != first.Commit || hashes(log)[1] != tagged {
			t.Fatalf("annotated=%v: release-updates = %q, want our commit on the tag's commit %s", annotated, log, tagged)
		}
		second, err := gitrepo.Update(context.Background(), cfg, writeFiles(map[string]string{"b.yaml": "v2"}, "second"))
		if err != nil || !second.Pushed {
			t.Fatalf("annotated=%v: second Update = %+v, %v", annotated, second, err)
		}
		if got, want := subjects(srv.Log(t, "fleet", "release-updates")), []string{"second", "first", "Initial commit"}; !equalStrings(got, want) {
			t.Errorf("annotated=%v: release-updates = %q, want %q (on top of the push branch)", annotated, got, want)
		}
		if got := subjects(srv.Log(t, "fleet", "main")); got[0] != "after the release" {
			t.Errorf("annotated=%v: main = %q, want it untouched", annotated, got)
		}
	}
}

// TestUpdateFromASemVerRangeTakesTheHighestTagInIt: of v1.0.0, v1.2.0,
// v2.0.0 and a tag that is no version, ">=1.0.0 <2.0.0" means v1.2.0.
func TestUpdateFromASemVerRangeTakesTheHighestTagInIt(t *testing.T) {
	t.Parallel()
	srv, cfg := newRepo(t)
	srv.Tag(t, "fleet", "v1.0.0", "main", true)
	srv.PushCommit(t, "fleet", "main", map[string]string{"n": "2"}, "two")
	want := srv.Tag(t, "fleet", "v1.2.0", "main", false)
	srv.PushCommit(t, "fleet", "main", map[string]string{"n": "3"}, "three")
	srv.Tag(t, "fleet", "v2.0.0", "main", true)
	srv.Tag(t, "fleet", "latest", "main", false)
	cfg.Checkout, cfg.PushBranch = gitrepo.SemVerRef(">=1.0.0 <2.0.0"), "updates-1.x"

	res, err := gitrepo.Update(context.Background(), cfg, writeFiles(map[string]string{"a.yaml": "v1"}, "update"))
	if err != nil || !res.Pushed {
		t.Fatalf("Update = %+v, %v", res, err)
	}
	if log := srv.Log(t, "fleet", "updates-1.x"); len(log) < 2 || hashes(log)[1] != want {
		t.Errorf("updates-1.x = %q, want our commit on v1.2.0's commit %s", log, want)
	}
}

// TestUpdateFromACommitBranchesOffIt checks out a commit behind main's tip,
// with and without the branch that holds it.
func TestUpdateFromACommitBranchesOffIt(t *testing.T) {
	t.Parallel()
	for _, branch := range []string{"", "main"} {
		srv, cfg := newRepo(t)
		pinned := srv.Head(t, "fleet", "main")
		srv.PushCommit(t, "fleet", "main", map[string]string{"later.txt": "l"}, "later")
		cfg.Checkout, cfg.PushBranch = gitrepo.CommitRef(pinned, branch), "pinned-updates"

		res, err := gitrepo.Update(context.Background(), cfg, writeFiles(map[string]string{"a.yaml": "v1"}, "update"))
		if err != nil || !res.Pushed {
			t.Fatalf("branch %q: Update = %+v, %v", branch, res, err)
		}
		if log := srv.Log(t, "fleet", "pinned-updates"); len(log) != 2 || hashes(log)[1] != pinned {
			t.Errorf("branch %q: pinned-updates = %q, want our commit on %s", branch, log, pinned)
		}
	}
}

// TestCheckoutsThatNameNothingPushNothing: a missing tag, an empty semver
// range, an unknown commit, a tag without a push branch and malformed
// references each fail with their sentinel, and no branch is created.
func TestCheckoutsThatNameNothingPushNothing(t *testing.T) {
	t.Parallel()
	srv, base := newRepo(t)
	srv.Tag(t, "fleet", "v1.0.0", "main", false)
	unknown := strings.Repeat("ab", 20)
	for _, tc := range []struct {
		name     string
		checkout gitrepo.Ref
		push     string
		want     error
	}{
		{"missing tag", gitrepo.TagRef("v9.9.9"), "out", gitrepo.ErrRefNotFound},
		{"no tag in range", gitrepo.SemVerRef(">=3.0.0"), "out", gitrepo.ErrRefNotFound},
		{"unknown commit", gitrepo.CommitRef(unknown, ""), "out", gitrepo.ErrRefNotFound},
		{"commit on a missing branch", gitrepo.CommitRef(unknown, "nope"), "out", gitrepo.ErrBranchNotFound},
		{"tag without a push branch", gitrepo.TagRef("v1.0.0"), "", gitrepo.ErrInvalidConfig},
		{"short commit", gitrepo.CommitRef("abc123", ""), "out", gitrepo.ErrInvalidConfig},
		{"bad semver range", gitrepo.SemVerRef(">>1"), "out", gitrepo.ErrInvalidConfig},
		{"bad tag name", gitrepo.TagRef("v1..0"), "out", gitrepo.ErrInvalidConfig},
		{"no reference", gitrepo.Ref{}, "out", gitrepo.ErrInvalidConfig},
	} {
		cfg := base
		cfg.Checkout, cfg.PushBranch = tc.checkout, tc.push
		res, err := gitrepo.Update(context.Background(), cfg, writeFiles(map[string]string{"a": "1"}, "never"))
		if !errors.Is(err, tc.want) || res.Pushed {
			t.Errorf("%s: Update = %+v, %v; want %v and nothing pushed", tc.name, res, err, tc.want)
		}
		if log := srv.Log(t, "fleet", "out"); log != nil {
			t.Errorf("%s: branch out = %q, want it never created", tc.name, log)
		}
	}
}
