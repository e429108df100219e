package gitrepo

import (
	"context"
	"errors"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
)

// maxServerMessage bounds what we keep of the server's side-band messages.
const maxServerMessage = 4 << 10

// pushBranch pushes the local commit to PushBranch. A failure is classified:
// transport errors by their cause; then, since go-git reports a branch that
// moved under us in several ways (its own fast-forward check, an object
// missing from the shallow clone, the server's "fetch first"), the remote is
// asked where the branch is now: moved means ErrNonFastForward (retry),
// otherwise a refusal in the server's report is ErrPushRejected.
func (u *updater) pushBranch(ctx context.Context, commit plumbing.Hash) error {
	dst := plumbing.NewBranchReferenceName(u.cfg.PushBranch)
	said, kind, err := u.ws.push(ctx, config.RefSpec(u.ws.local.String()+":"+dst.String()), u.cfg.PushOptions)
	if err == nil {
		return nil
	}
	e := &Error{Op: "push", URL: u.ws.remote.display, Branch: u.cfg.PushBranch, Kind: kind, Err: err, Remote: said}
	// A server that went away mid-push (ErrUnreachable) may have applied
	// the push before it did: look before calling it a failure.
	if ctx.Err() != nil || (e.Kind != nil && !errors.Is(e.Kind, ErrUnreachable)) {
		return e
	}
	tip, exists, lerr := u.remoteTip(ctx)
	switch {
	case lerr != nil:
		return errors.Join(e, lerr)
	case exists && tip == commit:
		return nil // the push went through; only its report got lost
	case e.Kind != nil:
		return e
	case u.moved(tip, exists):
		e.Kind = ErrNonFastForward
	case isRefUpdateRejection(err):
		e.Kind = ErrPushRejected
	}
	return e
}

func (u *updater) remoteTip(ctx context.Context) (plumbing.Hash, bool, error) {
	heads, err := u.ws.remote.heads(ctx)
	if err != nil {
		return plumbing.ZeroHash, false, err
	}
	tip, ok := heads[u.cfg.PushBranch]
	return tip, ok, nil
}

// moved says whether PushBranch is no longer where our commit's parent was.
func (u *updater) moved(tip plumbing.Hash, exists bool) bool {
	if u.ws.base == u.cfg.PushBranch {
		return !exists || tip != u.ws.tip
	}
	return exists // we were creating PushBranch and someone else did
}

// pushRefspec pushes to cfg.PushRefspec after the branch push succeeded, as
// image-automation-controller does. Any refusal is final: a refspec target
// (e.g. Gerrit's refs/for/main) is not retried.
func (u *updater) pushRefspec(ctx context.Context) error {
	if u.cfg.PushRefspec == "" {
		return nil
	}
	rs, err := u.cfg.refspec(u.ws.local)
	if err != nil {
		return err
	}
	said, kind, err := u.ws.push(ctx, rs, u.cfg.PushOptions)
	if err == nil {
		return nil
	}
	if kind == nil {
		kind = ErrPushRejected
	}
	return &Error{Op: "push refspec " + u.cfg.PushRefspec + " to", URL: u.ws.remote.display, Kind: kind, Err: err, Remote: said}
}

// push sends one refspec and returns what the server said on the side band
// (hook output) along with the error's transport classification (nil when
// unclassified) and the error.
func (w *workspace) push(ctx context.Context, rs config.RefSpec, options map[string]string) (said string, kind, err error) {
	op := w.remote.start(ctx)
	defer op.cancel()
	buf := &boundedBuffer{limit: maxServerMessage}
	err = w.repo.PushContext(op.ctx, &git.PushOptions{ //nolint:contextcheck // op.ctx is ctx bounded by the operation's timeout (remote.start)
		RemoteName:   git.DefaultRemoteName,
		RefSpecs:     []config.RefSpec{rs},
		Auth:         w.remote.auth,
		CABundle:     w.remote.caBundle,
		ProxyOptions: op.proxy,
		Progress:     buf,
		Options:      options,
	})
	if err == nil || errors.Is(err, git.NoErrAlreadyUpToDate) {
		return buf.message(), nil, nil
	}
	kind, err = op.classify(err)
	return buf.message(), kind, err
}

// boundedBuffer keeps the first limit bytes written to it.
type boundedBuffer struct {
	buf   []byte
	limit int
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	if room := b.limit - len(b.buf); room > 0 {
		b.buf = append(b.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// message is the server's text on one line: progress meters (rewritten in
// place with \r) reduced to their last state, blank lines dropped.
func (b *boundedBuffer) message() string {
	var lines []string
	for _, line := range strings.Split(string(b.buf), "\n") {
		if i := strings.LastIndex(strings.TrimRight(line, "\r"), "\r"); i >= 0 {
			line = line[i+1:]
		}
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "remote:"))
		if line != "" {
			lines = append(lines, line)
		}
	}
	return strings.Join(lines, " | ")
}
