package gate

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/imagegate/imagegate/internal/gitrepo"
)

// crashingGit stands for a controller killed around the push: with
// afterPush it pushes and then reports the crash (the status update never
// happens); otherwise it dies after the change is made, before pushing.
type crashingGit struct{ afterPush bool }

var errCrash = errors.New("controller killed")

func (c crashingGit) Update(ctx context.Context, cfg gitrepo.Config, change gitrepo.Change) (gitrepo.Result, error) {
	if c.afterPush {
		if _, err := gitrepo.Update(ctx, cfg, change); err != nil {
			return gitrepo.Result{}, err
		}
		return gitrepo.Result{}, errCrash
	}
	_, err := gitrepo.Update(ctx, cfg, func(ctx context.Context, dir string) (string, bool, error) {
		if _, _, err := change(ctx, dir); err != nil {
			return "", false, err
		}
		return "", false, errCrash // the worktree is thrown away with the process
	})
	return gitrepo.Result{}, err
}

func TestCrashAroundThePushConvergesToOneCommit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		afterPush bool
	}{
		{"killed between verify and push", false},
		{"killed between push and status update", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, "web")
			d := w.publishSigned("web", "v1")
			before := len(w.log())

			w.rec.Git = crashingGit{afterPush: tc.afterPush}
			if _, err := w.reconcile(); !errors.Is(err, errCrash) {
				t.Fatalf("reconcile err = %v, want the crash", err)
			}
			// The restarted controller: a new process, same cluster and Git.
			w.rec.Git = nil
			w.rec.Checker = freshChecker(w)
			w.mustReconcile()
			w.mustReconcile()

			log := w.log()
			if len(log) != before+1 {
				t.Fatalf("%d new commits after the restart, want exactly 1:\n%s", len(log)-before, strings.Join(log, "\n"))
			}
			if !strings.Contains(w.file("web"), "@"+d.DigestStr()) {
				t.Fatal("the verified image is not in Git")
			}
			if row := w.row("web"); !row.Verified || !strings.HasSuffix(row.LastVerifiedRef, d.DigestStr()) {
				t.Fatalf("status after the restart: %+v", row)
			}
		})
	}
}
