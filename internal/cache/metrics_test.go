package cache

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/imagegate/imagegate/internal/verify"
)

// The gauge shows how full each capped class is: at the denied cap, more
// distinct digests are being denied than the cache remembers.
func TestCacheEntriesAreExportedByClass(t *testing.T) {
	t.Parallel()
	chk := NewChecker(nil, nil, CheckerOptions{})
	put := func(i int, r verify.Result) {
		_, _, _ = chk.Cache().Get(context.Background(), Key{Digest: fmt.Sprintf("sha256:%064x", i), PolicyHash: "p"},
			func(context.Context) verify.Outcome { return verify.Outcome{Result: r} })
	}
	put(0, verify.ResultVerified)
	for i := range MaxDeniedEntries + 5 {
		put(1+i, verify.ResultDenied)
	}
	put(-1, verify.ResultUnavailable) // never cached
	var entries prometheus.Collector
	for _, c := range chk.Collectors(func() int64 { return 0 }) {
		if _, ok := c.(cacheEntries); ok {
			entries = c
		}
	}
	want := fmt.Sprintf(`# HELP imagegate_verification_cache_entries Entries the in-process verification cache holds, by class; each class has a fixed cap.
# TYPE imagegate_verification_cache_entries gauge
imagegate_verification_cache_entries{class="denied"} %d
imagegate_verification_cache_entries{class="verified"} 1
`, MaxDeniedEntries)
	if err := testutil.CollectAndCompare(entries, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
}
