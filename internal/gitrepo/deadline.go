package gitrepo

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	"golang.org/x/net/proxy"
)

// DefaultTimeout bounds each network operation (list, clone, fetch, push)
// when Config.Timeout is zero: Flux's default for a GitRepository's
// spec.timeout.
const DefaultTimeout = 60 * time.Second

// deadlineScheme is a proxy scheme only this package's SSH operations
// name. go-git gives its SSH transport no context: the TCP dial honours a
// fixed 30 s timeout, but the SSH handshake and every later read wait for
// the server forever. The one per-call hook go-git has into SSH dialling is
// the proxy (ProxyOptions on every clone, fetch, push and list), resolved
// through golang.org/x/net/proxy's scheme registry; registering a scheme
// once, at init, and naming it per call with the operation's deadline in
// the URL puts that deadline on the connection itself, so a server that
// accepts and never answers fails the read. Nothing else in the process
// uses the scheme, and go-git's other transports are left as they are.
//
// HTTP(S) needs no such hook: go-git sends every request with the
// operation's context, and net/http closes the connection when that
// context's deadline passes, wherever the read is blocked.
const deadlineScheme = "imagegate-deadline"

func init() {
	proxy.RegisterDialerType(deadlineScheme, newDeadlineDialer)
}

// operation is one network operation against the remote: its context,
// bounded by the timeout, and the proxy options that bound its SSH
// connection the same way.
type operation struct {
	ctx     context.Context
	cancel  context.CancelFunc
	parent  context.Context
	timeout time.Duration
	proxy   transport.ProxyOptions
}

// start begins an operation bounded by the remote's timeout (or the
// caller's deadline, if sooner). Call cancel when it ends.
func (r *remote) start(ctx context.Context) *operation {
	opCtx, cancel := context.WithTimeout(ctx, r.timeout)
	op := &operation{ctx: opCtx, cancel: cancel, parent: ctx, timeout: r.timeout}
	if deadline, ok := opCtx.Deadline(); ok && r.ssh {
		op.proxy = transport.ProxyOptions{URL: deadlineScheme + "://deadline?at=" + strconv.FormatInt(deadline.UnixNano(), 10)}
	}
	if r.proxy != nil {
		op.proxy = transport.ProxyOptions{URL: r.proxy.URL.String(), Username: r.proxy.Username, Password: r.proxy.Password}
	}
	return op
}

// classify returns the sentinel for err and the cause to report. An
// operation that failed once its own deadline passed timed out, whatever
// go-git made of the broken connection; the cause then says which limit.
// The connection's deadline can fire a moment before the context's timer,
// so the clock is asked, not the context.
func (o *operation) classify(err error) (kind, cause error) {
	deadline, _ := o.ctx.Deadline()
	if o.parent.Err() == nil && !time.Now().Before(deadline) {
		return ErrTimeout, fmt.Errorf("no answer within the %s timeout: %w", o.timeout, err)
	}
	return classifyTransport(err), err
}

// deadlineDialer dials as go-git would without a proxy (honouring the
// environment's ALL_PROXY) and puts a deadline on the connection.
type deadlineDialer struct{ deadline time.Time }

func newDeadlineDialer(u *url.URL, _ proxy.Dialer) (proxy.Dialer, error) {
	at, err := strconv.ParseInt(u.Query().Get("at"), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("deadline dialer: %w", err)
	}
	return deadlineDialer{deadline: time.Unix(0, at)}, nil
}

func (d deadlineDialer) Dial(network, addr string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, addr)
}

func (d deadlineDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	ctx, cancel := context.WithDeadline(ctx, d.deadline)
	defer cancel()
	var conn net.Conn
	var err error
	if cd, ok := proxy.FromEnvironmentUsing(&net.Dialer{}).(proxy.ContextDialer); ok {
		conn, err = cd.DialContext(ctx, network, addr)
	} else {
		conn, err = (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	if err != nil {
		return nil, err
	}
	if err := conn.SetDeadline(d.deadline); err != nil {
		_ = conn.Close() // the connection is unusable: nothing to lose
		return nil, err
	}
	return conn, nil
}
