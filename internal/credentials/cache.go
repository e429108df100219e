package credentials

import (
	"container/list"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"sync"
	"sync/atomic"

	fluxcache "github.com/fluxcd/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/imagegate/imagegate/internal/cache"
	"github.com/imagegate/imagegate/internal/registry"
	"github.com/imagegate/imagegate/internal/verify"
)

// DefaultMaxClients bounds the registry clients kept built, one per
// distinct set of credential objects (an ImageRepository's, or a
// namespace's pull secrets). Each holds a parsed keychain, its registry
// tokens and, with certSecretRef or proxySecretRef, a transport with its
// own idle connections (at most 16 per registry host): 256 of them stay
// within a few MiB, and a cluster with more distinct credential sets
// in use at once only rebuilds the least recently used ones.
const DefaultMaxClients = 256

// Access is the registry access of one selection or one Pod.
type Access struct {
	// Scope identifies the credentials (cache.Checker.Via): "" when only
	// the process's own are used, else a hash of the namespace, names,
	// UIDs and versions of the objects they were read from.
	Scope string
	// Registry carries them; the process's client when Scope is "".
	Registry *registry.Client
	// Checker resolves and verifies through Registry, keeping its
	// verdicts under Scope; the process's checker when Scope is "".
	Checker *cache.Checker
}

// Options configure a Resolver.
type Options struct {
	// Reader reads Secrets, ServiceAccounts and ImageRepositories by name:
	// the manager's API reader (get only, no informer).
	Reader client.Reader
	// Registry is the process's client; its credentials stay the fallback.
	Registry *registry.Client
	// Checker is the process's; each Access gets a view of it (Via).
	Checker *cache.Checker
	// Verifier builds the verifier of a derived client, with the process's
	// limits; default verify.New(reg).
	Verifier func(reg *registry.Client) cache.DigestVerifier
	// MaxClients bounds the clients kept built; default DefaultMaxClients.
	MaxClients int
}

// Resolver reads credential objects and builds registry clients from them.
// It is safe for concurrent use.
type Resolver struct {
	opts Options

	tokens *fluxcache.TokenCache // cloud providers' registry credentials

	mu      sync.Mutex
	clients map[string]*list.Element // of *cached, most recently used first
	order   *list.List
	builds  atomic.Int64
}

type cached struct {
	key    string
	access Access
}

// New returns a Resolver.
func New(o Options) *Resolver {
	if o.MaxClients <= 0 {
		o.MaxClients = DefaultMaxClients
	}
	if o.Verifier == nil {
		o.Verifier = func(reg *registry.Client) cache.DigestVerifier { return verify.New(reg) }
	}
	// Capacity one token per client kept: a token outlives the client
	// that asked for it only until the LRU drops it.
	tokens, err := fluxcache.NewTokenCache(o.MaxClients)
	if err != nil {
		panic(fmt.Sprintf("credentials: token cache of %d: %v", o.MaxClients, err)) // only for capacity <= 0, excluded above
	}
	return &Resolver{opts: o, tokens: tokens, clients: map[string]*list.Element{}, order: list.New()}
}

// base is the access of the process's own credentials.
func (r *Resolver) base() Access { return Access{Registry: r.opts.Registry, Checker: r.opts.Checker} }

// Builds is how many registry clients were built (for tests and metrics).
func (r *Resolver) Builds() int64 { return r.builds.Load() }

// Len is how many clients are kept now.
func (r *Resolver) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.order.Len()
}

// access returns the access kept under key, or builds one with build and
// keeps it, dropping the least recently used beyond the bound. A failed
// build is not kept: the objects are read again next time.
func (r *Resolver) access(key string, build func() (registry.Access, error)) (Access, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if el, ok := r.clients[key]; ok {
		r.order.MoveToFront(el)
		return el.Value.(*cached).access, nil
	}
	a, err := build()
	if err != nil {
		return Access{}, err
	}
	c, err := r.opts.Registry.With(a)
	if err != nil {
		return Access{}, err
	}
	r.builds.Add(1)
	acc := Access{Scope: key, Registry: c, Checker: r.opts.Checker.Via(key, c, r.opts.Verifier(c))}
	r.clients[key] = r.order.PushFront(&cached{key: key, access: acc})
	for r.order.Len() > r.opts.MaxClients {
		last := r.order.Back()
		r.order.Remove(last)
		old := last.Value.(*cached)
		delete(r.clients, old.key)
		old.access.Registry.CloseIdleConnections()
	}
	return acc, nil
}

// fingerprint accumulates the identity and version of every object the
// credentials come from; its sum is the cache key and the scope.
type fingerprint struct {
	h    hash.Hash
	used bool // something beyond the process's credentials is in play
}

func newFingerprint(kind string) *fingerprint {
	f := &fingerprint{h: sha256.New()}
	f.add("%s", kind)
	return f
}

func (f *fingerprint) add(format string, args ...any) {
	_, _ = fmt.Fprintf(f.h, format+"\n", args...)
}

func (f *fingerprint) key() string { return hex.EncodeToString(f.h.Sum(nil)) }
