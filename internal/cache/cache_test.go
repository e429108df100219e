package cache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type result struct {
	ok        bool
	transient bool
}

func ttl(r result) time.Duration {
	switch {
	case r.transient:
		return 0
	case r.ok:
		return time.Hour
	default:
		return time.Minute
	}
}

type clock struct{ now atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Unix(0, c.now.Load()) }
func (c *clock) Advance(d time.Duration) { c.now.Add(int64(d)) }

func newCache(c *clock) *Cache[result] {
	return New(Options[result]{TTL: ttl, Now: c.Now})
}

var key = Key{Digest: "sha256:aaaa", PolicyHash: "sha256:pppp"}

func TestConcurrentCallsCoalesceIntoOne(t *testing.T) {
	t.Parallel()
	c := newCache(&clock{})
	release := make(chan struct{})
	var calls atomic.Int32
	fn := func(context.Context) result {
		calls.Add(1)
		<-release
		return result{ok: true}
	}
	var wg sync.WaitGroup
	started := make(chan struct{}, 50)
	for range 50 {
		wg.Go(func() {
			started <- struct{}{}
			v, _, err := c.Get(context.Background(), key, fn)
			if err != nil || !v.ok {
				t.Errorf("Get = %+v, %v", v, err)
			}
		})
	}
	for range 50 {
		<-started
	}
	close(release)
	wg.Wait()
	// Callers that arrive after the first call finished hit the cache, so
	// in every interleaving fn runs exactly once.
	if got := calls.Load(); got != 1 {
		t.Fatalf("fn ran %d times for 50 concurrent callers, want 1", got)
	}
	if c.Calls() != 1 {
		t.Fatalf("Calls() = %d, want 1", c.Calls())
	}
}

func TestTTLs(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		value     result
		after     time.Duration
		wantCalls int
	}{
		{"verified kept within TTL", result{ok: true}, 59 * time.Minute, 1},
		{"verified expires", result{ok: true}, time.Hour, 2},
		{"denial kept briefly", result{}, 59 * time.Second, 1},
		{"denial expires", result{}, time.Minute, 2},
		{"transient never kept", result{transient: true}, 0, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := &clock{}
			c := newCache(clk)
			calls := 0
			fn := func(context.Context) result { calls++; return tc.value }
			if _, src, _ := c.Get(context.Background(), key, fn); src != SourceCall {
				t.Fatalf("first Get source = %s, want call", src)
			}
			clk.Advance(tc.after)
			_, src, _ := c.Get(context.Background(), key, fn)
			if calls != tc.wantCalls {
				t.Fatalf("calls = %d, want %d (second source %s)", calls, tc.wantCalls, src)
			}
			if tc.wantCalls == 1 && src != SourceCache {
				t.Fatalf("second Get source = %s, want cache", src)
			}
		})
	}
}

func TestKeyedByDigestAndPolicyHash(t *testing.T) {
	t.Parallel()
	c := newCache(&clock{})
	calls := 0
	fn := func(context.Context) result { calls++; return result{ok: true} }
	for _, k := range []Key{key, {Digest: key.Digest, PolicyHash: "sha256:other"}, {Digest: "sha256:bbbb", PolicyHash: key.PolicyHash}} {
		_, _, _ = c.Get(context.Background(), k, fn)
	}
	if calls != 3 {
		t.Fatalf("calls = %d, want 3: a new policy hash or digest is a new verification", calls)
	}
}

func TestCallerCancellationDoesNotFailOthers(t *testing.T) {
	t.Parallel()
	c := newCache(&clock{})
	release := make(chan struct{})
	entered := make(chan struct{})
	fn := func(ctx context.Context) result {
		close(entered)
		<-release
		return result{ok: ctx.Err() == nil}
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, _, err := c.Get(ctx, key, fn); errc <- err }()
	<-entered
	other := make(chan result, 1)
	go func() { v, _, _ := c.Get(context.Background(), key, fn); other <- v }()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller err = %v, want context.Canceled", err)
	}
	close(release)
	if v := <-other; !v.ok {
		t.Fatal("the shared call saw the first caller's cancellation")
	}
}

func TestMaxEntriesBoundsMemory(t *testing.T) {
	t.Parallel()
	c := New(Options[result]{TTL: ttl, MaxEntries: 10})
	for i := range 100 {
		k := Key{Digest: string(rune('a' + i)), PolicyHash: "p"}
		_, _, _ = c.Get(context.Background(), k, func(context.Context) result { return result{ok: true} })
	}
	if n := c.Len(""); n != 10 {
		t.Fatalf("%d entries after 100 stores, want the cap, 10", n)
	}
}

func byResult(r result) Class {
	if r.ok {
		return ClassVerified
	}
	return ClassDenied
}

func digestKey(i int) Key { return Key{Digest: fmt.Sprintf("sha256:%064x", i), PolicyHash: "p"} }

// Anyone who may create a Pod can have the webhook deny digests nobody
// pushed, as many as they like. Denials have a cap of their own: a full
// class drops its oldest entry, and verified entries stay, so nothing has
// to be verified again.
func TestAFloodOfDenialsNeverEvictsVerifiedEntries(t *testing.T) {
	t.Parallel()
	const verifiedCap, deniedCap, flood = 10, 5, 100
	c := New(Options[result]{TTL: ttl, Now: (&clock{}).Now, ClassOf: byResult,
		Caps: map[Class]int{ClassVerified: verifiedCap, ClassDenied: deniedCap}})
	get := func(k Key, r result) {
		if _, _, err := c.Get(context.Background(), k, func(context.Context) result { return r }); err != nil {
			t.Fatal(err)
		}
	}
	for i := range verifiedCap {
		get(digestKey(i), result{ok: true})
	}
	for i := range flood {
		get(digestKey(1000+i), result{})
	}
	if v, d := c.Len(ClassVerified), c.Len(ClassDenied); v != verifiedCap || d != deniedCap {
		t.Fatalf("after %d denials: %d verified, %d denied entries; want %d and %d", flood, v, d, verifiedCap, deniedCap)
	}
	calls := c.Calls()
	for i := range verifiedCap {
		get(digestKey(i), result{})
	}
	// The newest denials are held; the oldest made room for them.
	for i := flood - deniedCap; i < flood; i++ {
		get(digestKey(1000+i), result{ok: true})
	}
	if got := c.Calls() - calls; got != 0 {
		t.Fatalf("%d calls for the %d verified and the %d newest denied keys, want 0: all cached", got, verifiedCap, deniedCap)
	}
	get(digestKey(1000+flood-deniedCap-1), result{})
	if got := c.Calls() - calls; got != 1 {
		t.Fatalf("the newest evicted denial was served from the cache (%d calls, want 1)", got)
	}
}

// A key whose verdict changes moves to the new verdict's class: it is
// counted once, under the cap of the class it is in now.
func TestANewVerdictMovesTheKeyToItsClass(t *testing.T) {
	t.Parallel()
	clk := &clock{}
	c := New(Options[result]{TTL: ttl, Now: clk.Now, ClassOf: byResult})
	_, _, _ = c.Get(context.Background(), key, func(context.Context) result { return result{ok: true} })
	clk.Advance(time.Hour) // expired
	_, _, _ = c.Get(context.Background(), key, func(context.Context) result { return result{} })
	if v, d := c.Len(ClassVerified), c.Len(ClassDenied); v != 0 || d != 1 {
		t.Fatalf("%d verified, %d denied entries, want 0 and 1", v, d)
	}
	c.Forget(key)
	if d := c.Len(ClassDenied); d != 0 {
		t.Fatalf("%d denied entries after Forget, want 0", d)
	}
}

func BenchmarkCacheHit(b *testing.B) {
	c := New(Options[result]{TTL: ttl})
	fn := func(context.Context) result { return result{ok: true} }
	ctx := context.Background()
	_, _, _ = c.Get(ctx, key, fn)
	b.ReportAllocs()
	for b.Loop() {
		_, _, _ = c.Get(ctx, key, fn)
	}
}
