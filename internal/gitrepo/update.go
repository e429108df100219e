package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Update clones cfg.Checkout (or the existing PushBranch) into a fresh
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

	rem, err := newRemote(cfg.URL, cfg.Auth, cfg.Proxy, cfg.Timeout, scratch)
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
	listed Tips // the checkout's and push branch's commits in the last listing
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
			res.Skipped, res.Tips = true, u.listed
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
	from, err := u.startFor(ctx)
	if err != nil {
		return "", err
	}
	if first := u.ws.repo == nil; first && u.cfg.Unchanged != nil && u.cfg.Unchanged(u.listed) {
		return "", errUnchanged
	}
	if err := u.ws.checkout(ctx, from, u.cfg.PushBranch); err != nil {
		return "", err
	}
	message, ok, err := u.change(ctx, u.ws.dir)
	switch {
	case err != nil:
		return "", fmt.Errorf("change to %s (%s): %w", u.ws.remote.display, from.label, err)
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

// tips are the branches' commits after a run that pushed commit (or
// nothing, ""): the pushed commit for PushBranch, the commit cloned for
// the branch the change was made on (what the change found right), the
// last listing for the other; a tag's or commit's checkout keeps the
// commit it named.
func (u *updater) tips(pushed string) Tips {
	t := u.listed
	base := u.ws.tip.String()
	checkout, isBranch := u.cfg.Checkout.Branch()
	if isBranch && u.ws.base == checkout {
		t.Checkout = base
	}
	if u.ws.base == u.cfg.PushBranch {
		t.Push = base
	}
	if pushed != "" {
		t.Push = pushed
		if isBranch && checkout == u.cfg.PushBranch {
			t.Checkout = pushed
		}
	}
	return t
}
