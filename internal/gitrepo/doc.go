// Package gitrepo writes one change to a Git repository the way the gate
// needs it: clone a branch, let the caller rewrite files, make a single
// (optionally signed) commit on top of the remote tip and push it, retrying
// from the new tip when someone else pushed first. It reports the branch
// tips a run left, and stops after its first ls-remote when the caller
// says those tips need no run (Config.Unchanged). CloneBare (clone.go)
// fetches one branch with its whole history, bounded in time and bytes,
// for readers of history such as imagegate audit.
//
// It owns transport authentication (mapped from Flux GitRepository secrets),
// commit signing (OpenPGP and SSH), and the classification of Git failures
// into sentinel errors (ErrAuth, ErrBranchNotFound, ErrUnreachable, ErrTimeout,
// ErrPushRejected, ErrNonFastForward, ...) that callers map to conditions.
//
// It knows nothing about Kubernetes, images or verification: it must not
// import k8s.io, controller-runtime, or other imagegate packages. What to
// write and the commit message (trailers included) come from the caller.
package gitrepo
