package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/go-git/go-git/v5/plumbing"
)

// Update clones cfg.CheckoutBranch (or the existing PushBranch) into a fresh
// temporary directory, runs change there, stages all changes, makes one
// commit on top of the remote tip and pushes it. When the push loses a race
// (the branch moved), it fetches the new tip, resets, runs change again and
// retries, up to cfg.MaxAttempts. If change reports ok=false or leaves the
// worktree clean, nothing is committed or pushed and Result.Pushed is false.
// The directory is removed before Update returns.
func Update(ctx context.Context, cfg Config, change Change) (Result, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return Result{}, err
	}
	if change == nil {
		return Result{}, fmt.Errorf("%w: no change function", ErrInvalidConfig)
	}
	scratch, err := os.MkdirTemp("", "imagegate-git-")
	if err != nil {
		return Result{}, fmt.Errorf("create a temporary directory for %s: %w", redactURL(cfg.URL), err)
	}
	defer func() { _ = os.RemoveAll(scratch) }()

	rem, err := newRemote(cfg.URL, cfg.Auth, cfg.Timeout, scratch)
	if err != nil {
		return Result{}, err
	}
	u := &updater{cfg: cfg, change: change, ws: &workspace{dir: filepath.Join(scratch, "worktree"), remote: rem}}
	return u.run(ctx)
}

type updater struct {
	cfg    Config
	change Change
	ws     *workspace
	heads  map[string]plumbing.Hash // the last listing's branches
}

// errUnchanged: Config.Unchanged said the listed tips need no run.
var errUnchanged = errors.New("branches unchanged")

func (u *updater) run(ctx context.Context) (Result, error) {
	var res Result
	var lastErr error
	for res.Attempts < u.cfg.MaxAttempts {
		res.Attempts++
		commit, err := u.attempt(ctx)
		switch {
		case errors.Is(err, errUnchanged):
			res.Skipped, res.Tips = true, u.listedTips()
			return res, nil
		case errors.Is(err, errNothingToCommit):
			res.Tips = u.tips("")
			return res, nil
		case errors.Is(err, ErrNonFastForward):
			lastErr = err
			continue
		case err != nil:
			return res, err
		}
		res.Commit, res.Pushed = commit, true
		if err := u.pushRefspec(ctx); err != nil {
			return res, err
		}
		res.Tips = u.tips(commit)
		return res, nil
	}
	return res, fmt.Errorf("gave up after %d attempts: %w", res.Attempts, lastErr)
}

// attempt runs one checkout-change-commit-push round and returns the pushed
// commit's hash.
func (u *updater) attempt(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("update %s: %w", u.ws.remote.display, err)
	}
	base, err := u.baseBranch(ctx)
	if err != nil {
		return "", err
	}
	if first := u.ws.repo == nil; first && u.cfg.Unchanged != nil && u.cfg.Unchanged(u.listedTips()) {
		return "", errUnchanged
	}
	if err := u.ws.checkout(ctx, base); err != nil {
		return "", err
	}
	message, ok, err := u.change(ctx, u.ws.dir)
	switch {
	case err != nil:
		return "", fmt.Errorf("change to %s (branch %s): %w", u.ws.remote.display, base, err)
	case !ok:
		return "", errNothingToCommit
	case message == "":
		return "", fmt.Errorf("%w: change to %s returned an empty commit message", ErrInvalidConfig, u.ws.remote.display)
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("update %s: %w", u.ws.remote.display, err)
	}
	hash, err := u.ws.commit(message, u.cfg.Author, u.cfg.Signer)
	if err != nil {
		return "", err
	}
	if err := u.pushBranch(ctx, hash); err != nil {
		return "", err
	}
	return hash.String(), nil
}

// baseBranch picks the branch to build on: PushBranch when it exists on the
// remote (the commit goes on top of it), else CheckoutBranch, which must
// exist.
func (u *updater) baseBranch(ctx context.Context) (string, error) {
	heads, err := u.ws.remote.heads(ctx)
	if err != nil {
		return "", err
	}
	u.heads = heads
	if _, ok := heads[u.cfg.CheckoutBranch]; !ok {
		return "", &Error{Op: "list", URL: u.ws.remote.display, Branch: u.cfg.CheckoutBranch, Kind: ErrBranchNotFound}
	}
	if _, ok := heads[u.cfg.PushBranch]; ok {
		return u.cfg.PushBranch, nil
	}
	return u.cfg.CheckoutBranch, nil
}

// listedTips are the branches' commits in the last listing.
func (u *updater) listedTips() Tips {
	return Tips{Checkout: hexOrEmpty(u.heads, u.cfg.CheckoutBranch), Push: hexOrEmpty(u.heads, u.cfg.PushBranch)}
}

// tips are the branches' commits after a run that pushed commit (or
// nothing, ""): the pushed commit for PushBranch, the commit cloned for
// the branch the change was made on (what the change found right), the
// last listing for the other.
func (u *updater) tips(pushed string) Tips {
	t := u.listedTips()
	base := u.ws.tip.String()
	if u.ws.base == u.cfg.CheckoutBranch {
		t.Checkout = base
	}
	if u.ws.base == u.cfg.PushBranch {
		t.Push = base
	}
	if pushed != "" {
		t.Push = pushed
		if u.cfg.CheckoutBranch == u.cfg.PushBranch {
			t.Checkout = pushed
		}
	}
	return t
}

func hexOrEmpty(heads map[string]plumbing.Hash, branch string) string {
	if h, ok := heads[branch]; ok {
		return h.String()
	}
	return ""
}
