package gitrepo

import (
	"encoding/hex"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
)

// Ref names what Update checks out when the push branch does not exist yet:
// a branch, a tag, the highest tag in a semver range, or a commit, as a
// GitRepository's spec.ref does. Build one with BranchRef, TagRef,
// SemVerRef or CommitRef; the zero Ref names nothing and fails validation.
type Ref struct {
	kind   refKind
	value  string
	branch string // CommitRef only: the branch that holds the commit, or ""
}

type refKind uint8

const (
	refNone refKind = iota
	refBranch
	refTag
	refSemVer
	refCommit
)

// BranchRef checks out a branch; commits go on top of it unless a push
// branch says otherwise.
func BranchRef(name string) Ref { return Ref{kind: refBranch, value: name} }

// TagRef checks out the commit a tag points at. A push branch is required.
func TagRef(name string) Ref { return Ref{kind: refTag, value: name} }

// SemVerRef checks out the highest tag whose name is a semantic version in
// the range (Masterminds/semver syntax, as source-controller reads
// spec.ref.semver). A push branch is required.
func SemVerRef(constraint string) Ref { return Ref{kind: refSemVer, value: constraint} }

// CommitRef checks out a commit by its full hash; branch, when not empty,
// is the branch that holds it (only that branch is fetched). A push branch
// is required.
func CommitRef(hash, branch string) Ref { return Ref{kind: refCommit, value: hash, branch: branch} }

// Branch returns the branch name when the Ref is a branch.
func (r Ref) Branch() (string, bool) { return r.value, r.kind == refBranch }

// String describes the Ref for messages: "branch main", "tag v1.2.0",
// "semver >=1.0.0 <2.0.0", "commit 1a2b3c…".
func (r Ref) String() string {
	switch r.kind {
	case refBranch:
		return "branch " + r.value
	case refTag:
		return "tag " + r.value
	case refSemVer:
		return "semver " + r.value
	case refCommit:
		return "commit " + r.value
	default:
		return "no checkout reference"
	}
}

// Validate reports, as ErrInvalidConfig, a Ref that names nothing or
// cannot name anything: an invalid branch or tag name, a semver range that
// does not parse, a commit that is not a full hash.
func (r Ref) Validate() error {
	switch r.kind {
	case refBranch:
		return validBranch(r.value)
	case refTag:
		if err := plumbing.NewTagReferenceName(r.value).Validate(); err != nil || r.value == "" {
			return fmt.Errorf("%w: invalid tag name %q", ErrInvalidConfig, r.value)
		}
	case refSemVer:
		if _, err := parseConstraint(r.value); err != nil {
			return err
		}
	case refCommit:
		if b, err := hex.DecodeString(r.value); err != nil || (len(b) != 20 && len(b) != 32) {
			return fmt.Errorf("%w: commit %q: want a full 40- or 64-character hexadecimal hash", ErrInvalidConfig, r.value)
		}
		if r.branch != "" {
			return validBranch(r.branch)
		}
	default:
		return fmt.Errorf("%w: no checkout reference", ErrInvalidConfig)
	}
	return nil
}

func validBranch(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty branch name", ErrInvalidConfig)
	}
	if err := plumbing.NewBranchReferenceName(name).Validate(); err != nil {
		return fmt.Errorf("%w: invalid branch name %q: %w", ErrInvalidConfig, name, err)
	}
	return nil
}
