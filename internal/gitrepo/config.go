package gitrepo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
)

// DefaultMaxAttempts is how often Update tries when pushes keep losing
// races against other writers.
const DefaultMaxAttempts = 3

// Signature names the author (and committer) of the commit.
type Signature struct {
	Name  string
	Email string
}

// Config says where and how Update writes.
type Config struct {
	URL  string // https://, http://, ssh:// or scp-like git@host:path
	Auth Auth
	// Proxy, when set, carries every operation on an HTTP(S) remote; SSH
	// remotes with a Proxy are refused.
	Proxy *Proxy

	// Checkout is what to clone (required; must exist on the remote).
	Checkout Ref
	// PushBranch receives the commit; default the Checkout branch, and
	// required when Checkout is a tag, semver range or commit. When it
	// already exists the commit is made on top of it, otherwise it is
	// created from Checkout (as image-automation-controller does).
	PushBranch string
	// PushRefspec is pushed to in addition to PushBranch, after it, as
	// Flux's git.push.refspec (e.g. "HEAD:refs/for/main"). Its source must
	// be HEAD or the branch being written; force (+) and deletions are
	// refused.
	PushRefspec string
	// PushOptions are sent to the server with the push (git push -o).
	PushOptions map[string]string

	Author Signature // Email required
	Signer Signer    // optional

	MaxAttempts int // default DefaultMaxAttempts
	// Timeout bounds each network operation (list, clone, fetch, push) on
	// its own, connection included; default DefaultTimeout.
	Timeout time.Duration

	// Unchanged, when set, is asked once with the branch tips of the
	// first listing (one ls-remote), before anything is cloned: true ends
	// Update there with Result.Skipped. A caller that remembers the tips
	// its last run left (Result.Tips) uses it to skip the clone when
	// nothing moved.
	Unchanged func(Tips) bool
}

// Tips are the commits the checkout and push branches point at, as hex
// hashes; "" for a branch that does not exist. Commits, not trees: a
// branch rewritten to the same content under another commit has moved.
type Tips struct {
	Checkout string
	Push     string
}

// Change rewrites files in dir (the worktree root) and returns the commit
// message; ok=false means nothing to commit. It may run once per attempt,
// each time on a fresh checkout of the remote tip, so it must derive its
// edits from the files it finds, not from a previous run.
type Change func(ctx context.Context, dir string) (message string, ok bool, err error)

// Result reports what Update did. When the branch push succeeded but the
// PushRefspec push failed, Update returns both a Result with Pushed=true and
// the error.
type Result struct {
	Commit   string // hash of the pushed commit; "" when nothing was pushed
	Pushed   bool   // the commit reached PushBranch
	Attempts int    // checkouts made (1 unless a push lost a race)
	// Skipped: Config.Unchanged returned true; nothing was cloned.
	Skipped bool
	// Tips are the branches' commits when Update returned: after a push
	// the pushed commit on PushBranch; the commit cloned for the branch
	// the change was made on; the listed tip for the other branch; the
	// listed tips when Skipped. When an error is returned they are unset.
	Tips Tips
}

func (c Config) withDefaults() Config {
	if branch, ok := c.Checkout.Branch(); ok && c.PushBranch == "" {
		c.PushBranch = branch
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

func (c Config) validate() error {
	switch {
	case c.URL == "":
		return fmt.Errorf("%w: no repository URL", ErrInvalidConfig)
	case c.Author.Email == "":
		return fmt.Errorf("%w: no commit author email for %s", ErrInvalidConfig, redactURL(c.URL))
	}
	if err := c.Checkout.Validate(); err != nil {
		return fmt.Errorf("checkout of %s: %w", redactURL(c.URL), err)
	}
	if c.PushBranch == "" {
		return fmt.Errorf("%w: checking out %s of %s needs a push branch to commit to", ErrInvalidConfig, c.Checkout, redactURL(c.URL))
	}
	if err := validBranch(c.PushBranch); err != nil {
		return err
	}
	if c.PushRefspec != "" {
		if _, err := c.refspec(plumbing.HEAD); err != nil {
			return err
		}
	}
	return nil
}

// refspec turns PushRefspec into a go-git refspec whose source is local,
// the branch holding the commit: go-git skips symbolic sources such as
// HEAD, which would silently push nothing.
func (c Config) refspec(local plumbing.ReferenceName) (config.RefSpec, error) {
	src, dst, found := strings.Cut(c.PushRefspec, ":")
	switch {
	case strings.HasPrefix(c.PushRefspec, "+"):
		return "", fmt.Errorf("%w: push refspec %q: force (+) is not supported", ErrInvalidConfig, c.PushRefspec)
	case !found || src == "" || dst == "":
		return "", fmt.Errorf("%w: push refspec %q: want SRC:DST, e.g. HEAD:refs/for/main", ErrInvalidConfig, c.PushRefspec)
	case strings.Contains(c.PushRefspec, "*"):
		return "", fmt.Errorf("%w: push refspec %q: wildcards are not supported", ErrInvalidConfig, c.PushRefspec)
	case !c.namesPushedCommit(src):
		return "", fmt.Errorf("%w: push refspec %q: source must be HEAD or %s", ErrInvalidConfig, c.PushRefspec, strings.Join(c.branches(), " or "))
	}
	if !strings.HasPrefix(dst, "refs/") {
		dst = plumbing.NewBranchReferenceName(dst).String()
	}
	rs := config.RefSpec(local.String() + ":" + dst)
	if err := rs.Validate(); err != nil {
		return "", fmt.Errorf("%w: push refspec %q: %w", ErrInvalidConfig, c.PushRefspec, err)
	}
	return rs, nil
}

func (c Config) namesPushedCommit(src string) bool {
	if src == "HEAD" || src == "@" {
		return true
	}
	for _, b := range c.branches() {
		if src == b || src == plumbing.NewBranchReferenceName(b).String() {
			return true
		}
	}
	return false
}

// branches names the branches the pushed commit is on: the push branch,
// and the checkout branch when there is one.
func (c Config) branches() []string {
	if b, ok := c.Checkout.Branch(); ok && b != c.PushBranch {
		return []string{c.PushBranch, b}
	}
	return []string{c.PushBranch}
}
