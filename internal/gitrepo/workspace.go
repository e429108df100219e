package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// errNothingToCommit: the change left the tree as it was.
var errNothingToCommit = errors.New("nothing to commit")

// workspace is one on-disk checkout, reused across attempts.
type workspace struct {
	dir    string
	remote *remote
	repo   *git.Repository
	local  plumbing.ReferenceName // local branch that receives the commit
	base   string                 // remote branch the checkout is based on; "" for a tag or commit
	tip    plumbing.Hash          // the commit checked out: the parent of our commit
}

// checkout brings the worktree to from: a shallow, single-branch clone of a
// branch or tag the first time (a commit is fetched with its history, since
// servers need not serve a commit by hash), then, for a branch, a fetch and
// hard reset, so each attempt starts from the remote and nothing of an
// earlier one survives. A tag or commit is checked out on a new local
// branch named push, which the commit goes to.
func (w *workspace) checkout(ctx context.Context, from start, push string) error {
	if w.repo != nil && from.branch != "" {
		return w.refresh(ctx, from.branch)
	}
	if w.repo != nil {
		if err := os.RemoveAll(w.dir); err != nil {
			return fmt.Errorf("remove the previous checkout of %s: %w", w.remote.display, err)
		}
		w.repo = nil
	}
	return w.clone(ctx, from, push)
}

func (w *workspace) clone(ctx context.Context, from start, push string) error {
	opts := &git.CloneOptions{
		URL:           w.remote.url,
		Auth:          w.remote.auth,
		CABundle:      w.remote.caBundle,
		ReferenceName: from.clone,
		SingleBranch:  from.clone != "",
		Tags:          git.NoTags,
	}
	if from.branch != "" || from.clone.IsTag() {
		opts.Depth = 1
	}
	op := w.remote.start(ctx)
	defer op.cancel()
	opts.ProxyOptions = op.proxy
	repo, err := git.PlainCloneContext(op.ctx, w.dir, false, opts) //nolint:contextcheck // op.ctx is ctx bounded by the operation's timeout (remote.start)
	if err != nil {
		return w.opError(op, "clone", from.label, err)
	}
	head, err := repo.Head()
	if err != nil {
		return fmt.Errorf("read HEAD of the clone of %s: %w", w.remote.display, err)
	}
	w.repo = repo
	if from.branch != "" {
		w.local, w.base, w.tip = head.Name(), from.branch, head.Hash()
		return nil
	}
	return w.branchOff(from, head.Hash(), push)
}

// branchOff checks out the tag's or commit's commit on a new local branch
// push. For a tag it is the commit the clone got (the tag may have moved
// since it was listed); a commit must be in the fetched history.
func (w *workspace) branchOff(from start, head plumbing.Hash, push string) error {
	commit := head
	if !from.clone.IsTag() {
		commit = from.commit
		if _, err := w.repo.CommitObject(commit); err != nil {
			return &Error{Op: "checkout", URL: w.remote.display, Branch: from.label, Kind: ErrRefNotFound, Err: err}
		}
	}
	wt, err := w.repo.Worktree()
	if err != nil {
		return fmt.Errorf("open worktree: %w", err)
	}
	local := plumbing.NewBranchReferenceName(push)
	if err := wt.Checkout(&git.CheckoutOptions{Hash: commit, Branch: local, Create: true, Force: true}); err != nil {
		return fmt.Errorf("check out %s of %s on a new branch %s: %w", from.label, w.remote.display, push, err)
	}
	w.local, w.base, w.tip = local, "", commit
	return nil
}

func (w *workspace) refresh(ctx context.Context, base string) error {
	tracking := plumbing.NewRemoteReferenceName(git.DefaultRemoteName, base)
	op := w.remote.start(ctx)
	defer op.cancel()
	err := w.repo.FetchContext(op.ctx, &git.FetchOptions{ //nolint:contextcheck // op.ctx is ctx bounded by the operation's timeout (remote.start)
		RefSpecs:     []config.RefSpec{config.RefSpec("+" + plumbing.NewBranchReferenceName(base).String() + ":" + tracking.String())},
		Auth:         w.remote.auth,
		CABundle:     w.remote.caBundle,
		ProxyOptions: op.proxy,
		Depth:        1,
		Tags:         git.NoTags,
		Force:        true,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return w.opError(op, "fetch", base, err)
	}
	ref, err := w.repo.Reference(tracking, true)
	if err != nil {
		return fmt.Errorf("fetched %s of %s but cannot read it: %w", base, w.remote.display, err)
	}
	wt, err := w.repo.Worktree()
	if err != nil {
		return fmt.Errorf("open worktree: %w", err)
	}
	// The hard reset moves our local branch to the new tip and drops the
	// commit that lost the race; Clean removes files it had added.
	if err := wt.Reset(&git.ResetOptions{Commit: ref.Hash(), Mode: git.HardReset}); err != nil {
		return fmt.Errorf("reset worktree to %s of %s: %w", base, w.remote.display, err)
	}
	if err := wt.Clean(&git.CleanOptions{Dir: true}); err != nil {
		return fmt.Errorf("clean worktree: %w", err)
	}
	w.base, w.tip = base, ref.Hash()
	return nil
}

// commit stages every change in the worktree (new, modified, deleted files;
// .gitignore respected) and commits it on top of the base tip.
func (w *workspace) commit(message string, author Signature, signer Signer) (plumbing.Hash, error) {
	wt, err := w.repo.Worktree()
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("open worktree: %w", err)
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("stage changes in %s: %w", w.remote.display, err)
	}
	sig := &object.Signature{Name: author.Name, Email: author.Email, When: time.Now()}
	hash, err := wt.Commit(normalizeMessage(message), &git.CommitOptions{
		Author:    sig,
		Committer: sig,
		Parents:   []plumbing.Hash{w.tip},
		Signer:    signer,
	})
	switch {
	case errors.Is(err, git.ErrEmptyCommit):
		return plumbing.ZeroHash, errNothingToCommit
	case err != nil:
		return plumbing.ZeroHash, &Error{Op: "commit", URL: w.remote.display, Branch: w.base, Err: err}
	}
	return hash, nil
}

// normalizeMessage ends the message with one newline, as `git commit` does,
// so that trailers in its last paragraph parse.
func normalizeMessage(m string) string {
	return strings.TrimRight(m, " \t\n") + "\n"
}

func (w *workspace) opError(op *operation, name, branch string, err error) error {
	kind, cause := op.classify(err)
	var noRef git.NoMatchingRefSpecError
	if kind == nil && (errors.Is(err, noRef) || errors.Is(err, plumbing.ErrReferenceNotFound)) {
		kind = ErrBranchNotFound
	}
	return &Error{Op: name, URL: w.remote.display, Branch: branch, Kind: kind, Err: cause}
}
