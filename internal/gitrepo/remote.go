package gitrepo

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/go-git/go-git/v5/storage/memory"
	"github.com/skeema/knownhosts"
	"golang.org/x/crypto/ssh"
)

// sshDialTimeout bounds the SSH dial, which go-git does not tie to the
// context.
const sshDialTimeout = 30 * time.Second

// remote is one Git server endpoint with its transport credentials.
type remote struct {
	url      string // given to go-git: credentials removed
	display  string // for messages
	auth     transport.AuthMethod
	caBundle []byte
	timeout  time.Duration // per operation
	ssh      bool          // needs the deadline dialer (deadline.go)
	proxy    *Proxy        // HTTP(S) only
}

// newRemote prepares the endpoint. scratch is a private directory outside
// the worktree where the known_hosts file can be written.
func newRemote(rawURL string, a Auth, p *Proxy, timeout time.Duration, scratch string) (*remote, error) {
	ep, err := transport.NewEndpoint(rawURL)
	if err != nil {
		// The parser's message quotes the whole URL, password included.
		return nil, fmt.Errorf("%w: URL %s cannot be parsed", ErrInvalidConfig, redactURL(rawURL))
	}
	// Only HTTP(S) URLs are rebuilt (to drop credentials): rebuilding an
	// scp-like SSH address would turn its relative path into an absolute one.
	r := &remote{url: rawURL, display: redactURL(rawURL), timeout: timeout}
	switch ep.Protocol {
	case "http", "https":
		// Credentials in the URL are used like source-controller does when the
		// secret has none, but go-git never sees them, so no error message
		// built from the URL can leak them.
		if a.Username == "" && a.Password == "" && a.BearerToken == "" {
			a.Username, a.Password = ep.User, ep.Password
		}
		ep.User, ep.Password = "", ""
		r.url = ep.String()
		r.caBundle = a.CAFile
		r.proxy = p
		r.auth, err = httpAuth(a)
	case "ssh":
		if p != nil {
			return nil, fmt.Errorf("%w: URL %s: a proxy carries HTTP(S) remotes only; use an https URL or drop the proxy", ErrInvalidConfig, r.display)
		}
		r.ssh = true
		r.auth, err = sshAuth(ep, a, scratch)
	default:
		// file:// and local paths are refused too: a tenant's URL must not
		// make the controller read or write its own filesystem.
		err = fmt.Errorf("%w: URL %s: unsupported scheme %q (use https, http or ssh)", ErrInvalidConfig, r.display, ep.Protocol)
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

func httpAuth(a Auth) (transport.AuthMethod, error) {
	switch {
	case a.BearerToken != "":
		return &githttp.TokenAuth{Token: a.BearerToken}, nil
	case a.Username == "" && a.Password != "":
		return nil, fmt.Errorf("%w: the Git secret has a password but no username", ErrInvalidConfig)
	case a.Username != "":
		return &githttp.BasicAuth{Username: a.Username, Password: a.Password}, nil
	default:
		return nil, nil
	}
}

func sshAuth(ep *transport.Endpoint, a Auth, scratch string) (transport.AuthMethod, error) {
	if len(a.SSHPrivateKey) == 0 {
		return nil, fmt.Errorf("%w: SSH URL %s needs an identity (private key) in the Git secret", ErrInvalidConfig, redactURL(ep.String()))
	}
	if len(a.KnownHosts) == 0 {
		return nil, fmt.Errorf("%w: SSH URL %s needs known_hosts in the Git secret", ErrInvalidConfig, redactURL(ep.String()))
	}
	user := ep.User
	if user == "" {
		user = "git"
	}
	keys, err := gitssh.NewPublicKeys(user, a.SSHPrivateKey, a.SSHPassphrase)
	if err != nil {
		return nil, fmt.Errorf("%w: SSH identity in the Git secret: %w (is the password its passphrase?)", ErrInvalidConfig, err)
	}
	khFile := filepath.Join(scratch, "known_hosts")
	if err := os.WriteFile(khFile, a.KnownHosts, 0o600); err != nil {
		return nil, fmt.Errorf("write known_hosts: %w", err)
	}
	db, err := knownhosts.NewDB(khFile)
	if err != nil {
		return nil, fmt.Errorf("%w: known_hosts in the Git secret: %w", ErrInvalidConfig, err)
	}
	port := ep.Port
	if port == 0 {
		port = 22
	}
	keys.HostKeyCallback = db.HostKeyCallback()
	// Offer only the host key algorithms known_hosts holds for this host, or
	// a server with several host keys may present one we cannot check.
	keys.HostKeyAlgorithms = db.HostKeyAlgorithms(net.JoinHostPort(ep.Host, strconv.Itoa(port)))
	return &sshTimeoutAuth{PublicKeys: keys}, nil
}

// sshTimeoutAuth adds a dial timeout to go-git's public key auth.
type sshTimeoutAuth struct{ *gitssh.PublicKeys }

// ClientConfig implements gitssh.AuthMethod.
func (a *sshTimeoutAuth) ClientConfig() (*ssh.ClientConfig, error) {
	cfg, err := a.PublicKeys.ClientConfig()
	if err != nil {
		return nil, err
	}
	cfg.Timeout = sshDialTimeout
	return cfg, nil
}

// heads lists the remote's branches (one round trip, no objects).
func (r *remote) heads(ctx context.Context) (map[string]plumbing.Hash, error) {
	ls, err := r.list(ctx)
	return ls.heads, err
}

// list lists the remote's branches and tags in one round trip, without
// objects; an annotated tag maps to the commit it points at.
func (r *remote) list(ctx context.Context) (listing, error) {
	op := r.start(ctx)
	defer op.cancel()
	rem := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: git.DefaultRemoteName, URLs: []string{r.url}})
	refs, err := rem.ListContext(op.ctx, &git.ListOptions{Auth: r.auth, CABundle: r.caBundle, ProxyOptions: op.proxy, PeelingOption: git.AppendPeeled}) //nolint:contextcheck // op.ctx is ctx bounded by the operation's timeout (remote.start)
	if err != nil {
		kind, cause := op.classify(err)
		return listing{}, &Error{Op: "list", URL: r.display, Kind: kind, Err: cause}
	}
	ls := listing{heads: make(map[string]plumbing.Hash, len(refs)), tags: map[string]plumbing.Hash{}}
	for _, ref := range refs {
		if ref.Type() != plumbing.HashReference {
			continue
		}
		name := ref.Name()
		switch {
		case name.IsBranch():
			ls.heads[name.Short()] = ref.Hash()
		case name.IsTag():
			tag, peeled := strings.CutSuffix(name.Short(), "^{}")
			if _, seen := ls.tags[tag]; !seen || peeled {
				ls.tags[tag] = ref.Hash()
			}
		}
	}
	return ls, nil
}

// redactURL drops user information from a URL for messages; scp-like SSH
// addresses (git@host:path) hold no secret and are returned as they are.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil && strings.Contains(raw, "://"):
		return "<unparsable URL>" // it might hold a password: print none of it
	case err != nil || u.Scheme == "":
		return raw
	}
	u.User = nil
	return u.String()
}
