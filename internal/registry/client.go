package registry

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Defaults of Options.
const (
	DefaultRequestTimeout = 10 * time.Second
	// DefaultMaxManifestBytes is the size the OCI distribution spec has
	// registries accept at least; ggcr alone reads up to 100 MiB.
	DefaultMaxManifestBytes = 4 << 20
	DefaultMaxRedirects     = 5
)

// Options configure a Client. The zero value is usable: anonymous, HTTPS
// only, the defaults above.
type Options struct {
	Keychain         authn.Keychain    // nil = anonymous
	AllowInsecure    bool              // plain HTTP only when true (references get name.Insecure)
	RequestTimeout   time.Duration     // per HTTP request, body read included; default 10s
	MaxManifestBytes int64             // default 4 MiB; larger manifest responses fail with ErrManifestTooLarge
	MaxRedirects     int               // per request, default 5, beyond it ErrTooManyRedirects
	Transport        http.RoundTripper // base; default a clone of http.DefaultTransport (keep-alive)
}

func (o Options) withDefaults() Options {
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
	if o.MaxManifestBytes <= 0 {
		o.MaxManifestBytes = DefaultMaxManifestBytes
	}
	if o.MaxRedirects <= 0 {
		o.MaxRedirects = DefaultMaxRedirects
	}
	if o.Transport == nil {
		o.Transport = defaultTransport()
	}
	if o.Keychain == nil {
		o.Keychain = anonymousKeychain{}
	}
	return o
}

func defaultTransport() http.RoundTripper {
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		t = t.Clone()
		t.MaxIdleConnsPerHost = 16 // a few registries, many requests each
		return t
	}
	return http.DefaultTransport
}

// anonymousKeychain makes "no keychain" one code path with a keychain.
type anonymousKeychain struct{}

func (anonymousKeychain) Resolve(authn.Resource) (authn.Authenticator, error) {
	return authn.Anonymous, nil
}

// Client talks to registries for one controller or webhook process. It is
// safe for concurrent use; share one so auth tokens and connections are
// reused across calls.
type Client struct {
	opts      Options
	transport *guardedTransport
	puller    *remote.Puller
	pullerErr error
	probes    sync.Map // repository -> *probeTransport
	// ownsTransport: opts.Transport was made for this client (With), so
	// CloseIdleConnections may close its connections.
	ownsTransport bool
}

// New builds a Client.
func New(opts Options) *Client {
	opts = opts.withDefaults()
	c := &Client{opts: opts, transport: newGuardedTransport(opts)}
	c.puller, c.pullerErr = remote.NewPuller(c.baseOptions()...)
	return c
}

// baseOptions are the ggcr options of every call: our transport, the
// keychain, and no ggcr retries (callers retry with IsTransient, inside
// their own deadlines, and request counts stay exact).
func (c *Client) baseOptions() []remote.Option {
	return []remote.Option{
		remote.WithTransport(c.transport),
		remote.WithAuthFromKeychain(c.opts.Keychain),
		remote.WithRetryBackoff(remote.Backoff{Steps: 1}),
		remote.WithRetryPredicate(func(error) bool { return false }),
		remote.WithRetryStatusCodes(),
	}
}

// RemoteOptions returns go-containerregistry options that carry ctx, the
// keychain, the guarded transport, and remote.Reuse of a Puller shared by the
// client, so that repeated calls reuse auth tokens and connections (no second
// /v2/ ping for a repository already seen). Pass them to cosign through
// ociremote.WithRemoteOptions.
func (c *Client) RemoteOptions(ctx context.Context) []remote.Option {
	opts := append(c.baseOptions(), remote.WithContext(ctx))
	if c.puller != nil {
		opts = append(opts, remote.Reuse(c.puller))
	}
	return opts
}

// ParseReference parses s with the client's name options (insecure when
// allowed), normalising "nginx" to index.docker.io/library/nginx:latest.
func (c *Client) ParseReference(s string) (name.Reference, error) {
	ref, err := name.ParseReference(s, c.nameOptions()...)
	if err == nil && !c.opts.AllowInsecure && c.transport.insecureHosts[ref.Context().RegistryStr()] {
		return name.ParseReference(s, name.Insecure)
	}
	return ref, err
}

func (c *Client) nameOptions() []name.Option {
	if c.opts.AllowInsecure {
		return []name.Option{name.Insecure}
	}
	return nil
}

// Requests returns how many HTTP requests this client has sent (for tests
// and metrics). Attempts count: ggcr's first ping of a registry whose name
// allows HTTP (loopback, RFC 1918, name.Insecure) tries HTTPS and HTTP, and
// both are counted.
func (c *Client) Requests() int64 { return c.transport.sent.Load() }
