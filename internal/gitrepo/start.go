package gitrepo

import (
	"context"
	"fmt"

	"github.com/Masterminds/semver/v3"
	"github.com/go-git/go-git/v5/plumbing"
)

// start is where one attempt checks out from: a remote branch (the push
// branch when it exists, else a checkout branch), which later attempts
// fetch and reset to; or a tag or commit, from which the push branch is
// created.
type start struct {
	label  string                 // for messages: "branch main", "tag v1.2.0 (commit …)"
	branch string                 // set when starting from a remote branch
	clone  plumbing.ReferenceName // what a first checkout clones; "" for a full clone
	commit plumbing.Hash          // tag and commit starts: the commit to build on
}

// listing is one ls-remote: the remote's branches and tags (annotated tags
// peeled to their commit).
type listing struct {
	heads map[string]plumbing.Hash
	tags  map[string]plumbing.Hash
}

// startFor picks where to build: PushBranch when it exists on the remote (the
// commit goes on top of it), else what cfg.Checkout names, which must exist.
func (u *updater) startFor(ctx context.Context) (start, error) {
	ls, err := u.ws.remote.list(ctx)
	if err != nil {
		return start{}, err
	}
	ref := u.cfg.Checkout
	u.listed = Tips{Checkout: checkoutTip(ls, ref), Push: hexOrEmpty(ls.heads, u.cfg.PushBranch)}
	if name, ok := ref.Branch(); ok {
		// A branch checkout must exist even when the push branch does, as
		// image-automation-controller requires.
		if _, ok := ls.heads[name]; !ok {
			return start{}, &Error{Op: "list", URL: u.ws.remote.display, Branch: name, Kind: ErrBranchNotFound}
		}
	}
	if _, ok := ls.heads[u.cfg.PushBranch]; ok {
		return branchStart(u.cfg.PushBranch), nil
	}
	switch ref.kind {
	case refBranch:
		return branchStart(ref.value), nil
	case refTag:
		hash, ok := ls.tags[ref.value]
		if !ok {
			return start{}, u.refNotFound(ref, "no such tag on the remote")
		}
		return start{label: fmt.Sprintf("tag %s (commit %s)", ref.value, hash), clone: plumbing.NewTagReferenceName(ref.value), commit: hash}, nil
	case refSemVer:
		tag, hash, err := highestTag(ls.tags, ref.value)
		if err != nil {
			return start{}, err
		}
		if tag == "" {
			return start{}, u.refNotFound(ref, "no tag on the remote is a version in that range")
		}
		return start{label: fmt.Sprintf("tag %s (commit %s, highest in %s)", tag, hash, ref.value), clone: plumbing.NewTagReferenceName(tag), commit: hash}, nil
	case refCommit:
		s := start{label: "commit " + ref.value, commit: plumbing.NewHash(ref.value)}
		if ref.branch != "" {
			if _, ok := ls.heads[ref.branch]; !ok {
				return start{}, &Error{Op: "list", URL: u.ws.remote.display, Branch: ref.branch, Kind: ErrBranchNotFound}
			}
			s.clone = plumbing.NewBranchReferenceName(ref.branch)
		}
		return s, nil
	}
	return start{}, fmt.Errorf("%w: %s", ErrInvalidConfig, ref)
}

// checkoutTip is the commit ref names in ls, as a hex hash; "" when it
// names nothing there.
func checkoutTip(ls listing, ref Ref) string {
	switch ref.kind {
	case refBranch:
		return hexOrEmpty(ls.heads, ref.value)
	case refTag:
		return hexOrEmpty(ls.tags, ref.value)
	case refSemVer:
		if tag, _, err := highestTag(ls.tags, ref.value); err == nil && tag != "" {
			return hexOrEmpty(ls.tags, tag)
		}
	case refCommit:
		return ref.value
	}
	return ""
}

func hexOrEmpty(refs map[string]plumbing.Hash, name string) string {
	if h, ok := refs[name]; ok {
		return h.String()
	}
	return ""
}

func branchStart(name string) start {
	return start{label: "branch " + name, branch: name, clone: plumbing.NewBranchReferenceName(name)}
}

func (u *updater) refNotFound(ref Ref, why string) error {
	return &Error{Op: "list", URL: u.ws.remote.display, Branch: ref.String(), Kind: ErrRefNotFound, Err: fmt.Errorf("%s", why)}
}

// highestTag returns the tag whose name is the highest semantic version in
// constraint; tags that are not versions are ignored, as source-controller
// ignores them. Equal versions spelled differently ("v1.0.0", "1.0.0") are
// resolved by name so the choice does not depend on map order.
func highestTag(tags map[string]plumbing.Hash, constraint string) (string, plumbing.Hash, error) {
	c, err := parseConstraint(constraint)
	if err != nil {
		return "", plumbing.ZeroHash, err
	}
	var best *semver.Version
	var bestTag string
	for tag := range tags {
		v, err := semver.NewVersion(tag)
		if err != nil || !c.Check(v) {
			continue
		}
		if cmp := compareVersions(v, best); cmp > 0 || (cmp == 0 && tag > bestTag) {
			best, bestTag = v, tag
		}
	}
	return bestTag, tags[bestTag], nil
}

func compareVersions(v, best *semver.Version) int {
	if best == nil {
		return 1
	}
	return v.Compare(best)
}

func parseConstraint(s string) (*semver.Constraints, error) {
	c, err := semver.NewConstraint(s)
	if err != nil {
		return nil, fmt.Errorf("%w: semver range %q: %w", ErrInvalidConfig, s, err)
	}
	return c, nil
}
