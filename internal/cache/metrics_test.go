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

// A checker over verify.Verifier exports its Rekor lookups (tlog mode
// online); internal/verify's tests count them exactly.
func TestRekorLookupsAreExported(t *testing.T) {
	t.Parallel()
	chk := NewChecker(nil, verify.New(nil), CheckerOptions{})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(chk.Collectors(func() int64 { return 0 })...)
	want := `# HELP imagegate_rekor_cache_entries Rekor lookups (found or not) the in-process cache holds, at most 512.
# TYPE imagegate_rekor_cache_entries gauge
imagegate_rekor_cache_entries 0
# HELP imagegate_rekor_requests_total HTTP requests sent to Rekor by tlog mode online lookups.
# TYPE imagegate_rekor_requests_total counter
imagegate_rekor_requests_total 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "imagegate_rekor_requests_total", "imagegate_rekor_cache_entries"); err != nil {
		t.Fatal(err)
	}
}
