package verify

import (
	"testing"

	"github.com/sigstore/rekor/pkg/generated/models"
)

// The Rekor cache holds at most MaxRekorCacheEntries lookups and drops the
// oldest first, so signatures without entries, however many a registry
// serves over time, cannot grow it.
func TestRekorCacheIsBounded(t *testing.T) {
	t.Parallel()
	r := newRekor()
	key := func(i int) [32]byte {
		return rekorCacheKey("https://rekor.example", "sig", []byte{byte(i), byte(i >> 8)}, nil)
	}
	const extra = 88
	for i := range MaxRekorCacheEntries + extra {
		r.remember(key(i), &models.LogEntryAnon{})
	}
	if n := r.cacheLen(); n != MaxRekorCacheEntries {
		t.Fatalf("cache holds %d lookups, want the bound %d", n, MaxRekorCacheEntries)
	}
	for i, want := range map[int]bool{0: false, extra - 1: false, extra: true, MaxRekorCacheEntries + extra - 1: true} {
		if _, ok := r.cached(key(i)); ok != want {
			t.Errorf("lookup %d cached = %v, want %v (oldest dropped first)", i, ok, want)
		}
	}
	if len(r.order) != MaxRekorCacheEntries {
		t.Errorf("eviction order lists %d keys, want %d", len(r.order), MaxRekorCacheEntries)
	}
}

// The cache key separates its parts: moving bytes from one part to the
// next is another signature.
func TestRekorCacheKeySeparatesParts(t *testing.T) {
	t.Parallel()
	if rekorCacheKey("u", "ab", []byte("c"), nil) == rekorCacheKey("u", "a", []byte("bc"), nil) {
		t.Fatal("two different signatures share a cache key")
	}
}
