package gitrepo

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Every error Update returns for one of these causes wraps
// the sentinel (match with errors.Is) together with the underlying cause; an
// *Error (errors.As) adds the operation, URL, branch and server message.
var (
	// ErrInvalidConfig: the Config, credentials or signing key cannot work
	// as given; retrying without a change of configuration will not help.
	ErrInvalidConfig = errors.New("invalid git configuration")
	// ErrAuth: the server refused the credentials (HTTP 401/403), SSH
	// authentication failed, or the server could not prove its identity (host
	// key not in known_hosts, TLS certificate not trusted).
	ErrAuth = errors.New("git authentication failed")
	// ErrRepositoryNotFound: the server has no repository at the URL.
	ErrRepositoryNotFound = errors.New("git repository not found")
	// ErrBranchNotFound: the checkout branch does not exist (or the
	// repository has no branches at all).
	ErrBranchNotFound = errors.New("git branch not found")
	// ErrRefNotFound: the checkout tag or commit does not exist, or no tag
	// is a version in the checkout semver range.
	ErrRefNotFound = errors.New("git checkout reference not found")
	// ErrUnreachable: the server could not be reached or did not answer in
	// time (connection refused, DNS, timeouts, HTTP 5xx); worth retrying.
	ErrUnreachable = errors.New("git server unreachable")
	// ErrTimeout: an operation did not finish within Config.Timeout (or
	// the caller's deadline): the server accepted the connection but did
	// not answer, or stalled mid-transfer. It wraps ErrUnreachable, so it
	// is transient too.
	ErrTimeout = fmt.Errorf("%w: timed out", ErrUnreachable)
	// ErrPushRejected: the server refused the push for a reason other than a
	// concurrent update (pre-receive hook, protected branch, ...).
	ErrPushRejected = errors.New("git push rejected")
	// ErrNonFastForward: the branch kept moving under us; every attempt up to
	// MaxAttempts lost the race against another pusher.
	ErrNonFastForward = errors.New("git push not fast-forward")
	// ErrSigningUnsupported: the signing key's type cannot sign commits here.
	ErrSigningUnsupported = errors.New("commit signing key type not supported")
)

// Error describes a failed Git operation. It unwraps to its Kind (one of the
// sentinels above, or nil) and to the underlying cause. It never holds
// credentials: URL is stripped of user information.
type Error struct {
	Op     string // "list", "clone", "fetch", "commit" or "push"
	URL    string // the remote, without credentials
	Branch string // the branch concerned, if any
	Kind   error  // a sentinel of this package, or nil when unclassified
	Remote string // what the server said (hook output), if anything
	Err    error  // the cause
}

// Error renders one line: operation, remote, sentinel, cause, what the
// server said, and a hint on what to do.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "git %s %s", e.Op, e.URL)
	if e.Branch != "" {
		fmt.Fprintf(&b, " (branch %s)", e.Branch)
	}
	if e.Kind != nil {
		fmt.Fprintf(&b, ": %v", e.Kind)
	}
	if e.Err != nil {
		// Server replies can carry newlines; a condition message must not.
		fmt.Fprintf(&b, ": %s", strings.Join(strings.Fields(e.Err.Error()), " "))
	}
	if e.Remote != "" {
		fmt.Fprintf(&b, "; server said: %s", e.Remote)
	}
	if hint := hintFor(e.Kind); hint != "" {
		fmt.Fprintf(&b, " (%s)", hint)
	}
	return b.String()
}

// Unwrap lets errors.Is and errors.As see both the sentinel and the cause.
func (e *Error) Unwrap() []error {
	out := make([]error, 0, 2)
	if e.Kind != nil {
		out = append(out, e.Kind)
	}
	if e.Err != nil {
		out = append(out, e.Err)
	}
	return out
}

// hintFor says what to do, so that a condition message is actionable.
func hintFor(kind error) string {
	switch {
	case errors.Is(kind, ErrAuth):
		return "check the credentials, known_hosts or ca.crt in the Git secret and the key's access to the repository"
	case errors.Is(kind, ErrRepositoryNotFound):
		return "check the GitRepository URL"
	case errors.Is(kind, ErrBranchNotFound):
		return "check the checkout branch; it must exist on the remote"
	case errors.Is(kind, ErrRefNotFound):
		return "check the checkout tag, semver range or commit (a commit must be on a branch of the remote)"
	case errors.Is(kind, ErrTimeout):
		return "transient; retry later, or raise the GitRepository's spec.timeout for a slow server"
	case errors.Is(kind, ErrUnreachable):
		return "transient; retry later"
	case errors.Is(kind, ErrPushRejected):
		return "the server's rules refused the commit; see its message"
	case errors.Is(kind, ErrNonFastForward):
		return "other writers kept pushing to the branch; retry later"
	default:
		return ""
	}
}
