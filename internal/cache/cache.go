package cache

import (
	"container/list"
	"context"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// Key identifies one verification: the image digest, the hash of the
// policy it was verified under, and the registry credentials it ran with
// (Checker.Via; "" for the process's own).
type Key struct {
	Digest     string
	PolicyHash string
	Scope      string
}

func (k Key) String() string { return k.Digest + "/" + k.PolicyHash + "/" + k.Scope }

// Source says where a result came from.
type Source string

// Sources.
const (
	SourceCache     Source = "cache"     // an unexpired entry
	SourceCall      Source = "call"      // this caller ran the verification
	SourceCoalesced Source = "coalesced" // another caller's running verification
)

// Class names a part of the cache with a cap of its own.
type Class string

// DefaultMaxEntries caps a class that Options.Caps does not name.
const DefaultMaxEntries = 10_000

// Options configure a Cache.
type Options[V any] struct {
	// TTL says how long a result is kept; zero or less keeps it not at all.
	TTL func(V) time.Duration
	// ClassOf sorts results into classes, each kept under its own cap, so
	// that a flood of one kind of result (denials of digests nobody
	// pushed) never evicts another (verified digests). Default: one class.
	ClassOf func(V) Class
	// Caps bounds the entries of each class; a class it does not name is
	// capped by MaxEntries.
	Caps map[Class]int
	// MaxEntries caps every class Caps does not name; default
	// DefaultMaxEntries.
	MaxEntries int
	// CallTimeout bounds a shared call, which outlives any one caller's
	// context; default 30s.
	CallTimeout time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Cache is a coalescing TTL cache of verification results. Each class of
// results has a hard cap: storing into a full class first drops that
// class's oldest entry (the first stored). Callers keep one TTL per class,
// so the oldest entry is also the first to expire, and expired entries
// make room before live ones. Expired entries are also dropped when
// looked up.
type Cache[V any] struct {
	opts    Options[V]
	group   singleflight.Group
	mu      sync.Mutex
	entries map[Key]*list.Element // of *entry[V], in its class's list
	order   map[Class]*list.List  // each class's entries, oldest first
	calls   atomic.Int64
	hits    atomic.Int64
}

type entry[V any] struct {
	key     Key
	class   Class
	value   V
	expires time.Time
}

// New returns an empty cache.
func New[V any](opts Options[V]) *Cache[V] {
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = 30 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.TTL == nil {
		opts.TTL = func(V) time.Duration { return 0 }
	}
	if opts.ClassOf == nil {
		opts.ClassOf = func(V) Class { return "" }
	}
	return &Cache[V]{opts: opts, entries: map[Key]*list.Element{}, order: map[Class]*list.List{}}
}

// Get returns the cached value for key, or runs fn once for all concurrent
// callers of the same key. fn gets a context detached from any one caller
// (bounded by CallTimeout), so a caller that gives up does not fail the
// others; the caller's own ctx still bounds its wait.
func (c *Cache[V]) Get(ctx context.Context, key Key, fn func(context.Context) V) (V, Source, error) {
	if v, ok := c.lookup(key); ok {
		c.hits.Add(1)
		return v, SourceCache, nil
	}
	ran := false
	ch := c.group.DoChan(key.String(), func() (any, error) {
		ran = true
		if v, ok := c.lookup(key); ok { // stored while we queued
			return v, nil
		}
		c.calls.Add(1)
		callCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.opts.CallTimeout)
		defer cancel()
		v := fn(callCtx)
		c.store(key, v)
		return v, nil
	})
	select {
	case r := <-ch:
		src := SourceCoalesced
		if ran {
			src = SourceCall
		}
		return r.Val.(V), src, nil
	case <-ctx.Done():
		var zero V
		return zero, SourceCall, ctx.Err()
	}
}

// Forget drops a key, e.g. when a record was found invalid.
func (c *Cache[V]) Forget(key Key) {
	c.mu.Lock()
	c.remove(key)
	c.mu.Unlock()
}

// Calls is the number of times fn ran; Hits the number of cache hits.
func (c *Cache[V]) Calls() int64 { return c.calls.Load() }

// Hits is the number of results served from the cache.
func (c *Cache[V]) Hits() int64 { return c.hits.Load() }

// Len is the number of entries of class held, expired ones not yet
// dropped included: what the cap bounds.
func (c *Cache[V]) Len(class Class) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l := c.order[class]; l != nil {
		return l.Len()
	}
	return 0
}

// Cap is the most entries class may hold.
func (c *Cache[V]) Cap(class Class) int {
	if n, ok := c.opts.Caps[class]; ok && n > 0 {
		return n
	}
	return c.opts.MaxEntries
}

func (c *Cache[V]) lookup(key Key) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok {
		var zero V
		return zero, false
	}
	e := el.Value.(*entry[V])
	if !c.opts.Now().Before(e.expires) {
		c.remove(key)
		var zero V
		return zero, false
	}
	return e.value, true
}

func (c *Cache[V]) store(key Key, v V) {
	ttl := c.opts.TTL(v)
	if ttl <= 0 {
		return
	}
	class := c.opts.ClassOf(v)
	now := c.opts.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.remove(key) // a new verdict may change the key's class
	l := c.order[class]
	if l == nil {
		l = list.New()
		c.order[class] = l
	}
	for l.Len() >= c.Cap(class) {
		oldest := l.Front().Value.(*entry[V])
		c.remove(oldest.key)
	}
	c.entries[key] = l.PushBack(&entry[V]{key: key, class: class, value: v, expires: now.Add(ttl)})
}

// remove drops key from the map and its class's list; c.mu is held.
func (c *Cache[V]) remove(key Key) {
	el, ok := c.entries[key]
	if !ok {
		return
	}
	delete(c.entries, key)
	c.order[el.Value.(*entry[V]).class].Remove(el)
}
