package cache

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// Key identifies one verification: the image digest and the hash of the
// policy it was verified under.
type Key struct {
	Digest     string
	PolicyHash string
}

func (k Key) String() string { return k.Digest + "/" + k.PolicyHash }

// Source says where a result came from.
type Source string

// Sources.
const (
	SourceCache     Source = "cache"     // an unexpired entry
	SourceCall      Source = "call"      // this caller ran the verification
	SourceCoalesced Source = "coalesced" // another caller's running verification
)

// Options configure a Cache.
type Options[V any] struct {
	// TTL says how long a result is kept; zero or less keeps it not at all.
	TTL func(V) time.Duration
	// MaxEntries bounds memory; default 10,000.
	MaxEntries int
	// CallTimeout bounds a shared call, which outlives any one caller's
	// context; default 30s.
	CallTimeout time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Cache is a coalescing TTL cache of verification results.
type Cache[V any] struct {
	opts    Options[V]
	group   singleflight.Group
	mu      sync.Mutex
	entries map[Key]entry[V]
	calls   atomic.Int64
	hits    atomic.Int64
}

type entry[V any] struct {
	value   V
	expires time.Time
}

// New returns an empty cache.
func New[V any](opts Options[V]) *Cache[V] {
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = 10000
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
	return &Cache[V]{opts: opts, entries: map[Key]entry[V]{}}
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
	delete(c.entries, key)
	c.mu.Unlock()
}

// Calls is the number of times fn ran; Hits the number of cache hits.
func (c *Cache[V]) Calls() int64 { return c.calls.Load() }

// Hits is the number of results served from the cache.
func (c *Cache[V]) Hits() int64 { return c.hits.Load() }

func (c *Cache[V]) lookup(key Key) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		var zero V
		return zero, false
	}
	if !c.opts.Now().Before(e.expires) {
		delete(c.entries, key)
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
	now := c.opts.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.opts.MaxEntries {
		c.evict(now)
	}
	c.entries[key] = entry[V]{value: v, expires: now.Add(ttl)}
}

// evict drops expired entries, then arbitrary ones, until there is room.
func (c *Cache[V]) evict(now time.Time) {
	for k, e := range c.entries {
		if !now.Before(e.expires) {
			delete(c.entries, k)
		}
	}
	for k := range c.entries {
		if len(c.entries) < c.opts.MaxEntries {
			return
		}
		delete(c.entries, k)
	}
}
