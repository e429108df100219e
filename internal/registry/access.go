package registry

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Access is how one ImageRepository or one Pod reaches its registry, on top
// of what the process itself has: its own credentials, a TLS configuration
// (a private CA, a client certificate), a proxy, and plain HTTP for one
// registry host.
type Access struct {
	// Keychain is tried before the client's own (--pull-secret, then the
	// process's docker config), which stays the fallback.
	Keychain authn.Keychain
	// TLS replaces the transport's TLS configuration (RootCAs nil: the
	// system roots).
	TLS *tls.Config
	// Proxy sends every request through this proxy (http, https or
	// socks5; user info is the proxy's credentials).
	Proxy *url.URL
	// InsecureHost may be reached over plain HTTP ("host:port" as in a
	// reference); other registries stay HTTPS-only.
	InsecureHost string
}

// Empty reports whether a adds nothing to the client it would derive from.
func (a Access) Empty() bool {
	return a.Keychain == nil && a.TLS == nil && a.Proxy == nil && a.InsecureHost == ""
}

// errTransportNotCloneable: TLS and proxy settings need an *http.Transport
// to copy; a custom base RoundTripper (tests) cannot take them.
var errTransportNotCloneable = errors.New("the registry client's base transport is not an *http.Transport, so TLS and proxy settings cannot be applied")

// With returns a client that sends its requests with a on top of c's
// options: the same limits and deadline, c's keychain as the fallback, and
// a transport of its own when a sets TLS or a proxy (its connections are
// released by CloseIdleConnections). Requests of both count in
// c.Requests, so that metrics see all of them. Tokens and connections are
// not shared with c: each derived client keeps its own.
func (c *Client) With(a Access) (*Client, error) {
	opts := c.opts
	if a.Keychain != nil {
		opts.Keychain = authn.NewMultiKeychain(a.Keychain, c.opts.Keychain)
	}
	owned := false
	if a.TLS != nil || a.Proxy != nil {
		base, ok := c.opts.Transport.(*http.Transport)
		if !ok {
			return nil, errTransportNotCloneable
		}
		t := base.Clone()
		if a.TLS != nil {
			t.TLSClientConfig = a.TLS.Clone()
		}
		if a.Proxy != nil {
			t.Proxy = http.ProxyURL(a.Proxy)
		}
		opts.Transport, owned = t, true
	}
	d := &Client{opts: opts, transport: newGuardedTransport(opts), ownsTransport: owned}
	d.transport.sent = c.transport.sent
	d.transport.insecureHosts = c.transport.insecureHosts
	if a.InsecureHost != "" {
		d.transport.insecureHosts = map[string]bool{a.InsecureHost: true}
	}
	d.puller, d.pullerErr = remote.NewPuller(d.baseOptions()...)
	if d.pullerErr != nil {
		return nil, fmt.Errorf("registry client: %w", d.pullerErr)
	}
	return d, nil
}

// CloseIdleConnections releases the idle connections of a transport the
// client owns (one derived by With for TLS or a proxy); a client sharing
// the process's transport leaves it alone.
func (c *Client) CloseIdleConnections() {
	if t, ok := c.opts.Transport.(*http.Transport); ok && c.ownsTransport {
		t.CloseIdleConnections()
	}
}
