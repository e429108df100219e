package gitrepo_test

import (
	"context"
	"testing"

	"github.com/imagegate/imagegate/internal/gitrepo"
)

// TestUpdateTipsAndUnchanged: Result.Tips are the commits each branch
// points at after the run (pushed, cloned or listed; "" for a push branch
// not created), and Config.Unchanged, given the tips of the first
// listing, ends Update after that one ls-remote (one info/refs, no
// upload-pack) when it returns true, or lets it run when it returns false.
func TestUpdateTipsAndUnchanged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv, cfg := newRepo(t)
	cfg.PushBranch = "image-updates"
	mainTip := hashes(srv.Log(t, "fleet", "main"))[0]

	nothing := func(context.Context, string) (string, bool, error) { return "", false, nil }
	res, err := gitrepo.Update(ctx, cfg, nothing)
	if err != nil || res.Pushed || res.Tips != (gitrepo.Tips{Checkout: mainTip}) {
		t.Fatalf("no change, push branch absent: %+v, %v", res, err)
	}

	res, err = gitrepo.Update(ctx, cfg, writeFiles(map[string]string{"a.yaml": "v1"}, "first"))
	if err != nil || res.Tips != (gitrepo.Tips{Checkout: mainTip, Push: res.Commit}) {
		t.Fatalf("pushed: %+v, %v", res, err)
	}
	left := res.Tips

	var asked gitrepo.Tips
	cfg.Unchanged = func(t gitrepo.Tips) bool { asked = t; return true }
	before := srv.Stats()
	res, err = gitrepo.Update(ctx, cfg, writeFiles(map[string]string{"a.yaml": "v2"}, "must not run"))
	cost := srv.Stats().Sub(before)
	if err != nil || !res.Skipped || res.Pushed || asked != left || res.Tips != left {
		t.Fatalf("Unchanged true: %+v, %v; asked with %+v, want %+v", res, err, asked, left)
	}
	if cost.Requests != 1 || cost.InfoRefs != 1 || cost.UploadPack != 0 {
		t.Fatalf("a skipped Update cost %+v, want one info/refs", cost)
	}

	srv.PushCommit(t, "fleet", "main", map[string]string{"b.txt": "b"}, "main moves")
	newMain := hashes(srv.Log(t, "fleet", "main"))[0]
	cfg.Unchanged = func(t gitrepo.Tips) bool { asked = t; return false }
	res, err = gitrepo.Update(ctx, cfg, nothing)
	if err != nil || res.Skipped || asked != (gitrepo.Tips{Checkout: newMain, Push: left.Push}) || res.Tips != asked {
		t.Fatalf("Unchanged false: %+v, %v; asked with %+v", res, err, asked)
	}
}
