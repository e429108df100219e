package admission

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/imagegate/imagegate/internal/cache"
	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/records"
	"github.com/imagegate/imagegate/internal/registry"
	"github.com/imagegate/imagegate/internal/testenv"
	"github.com/imagegate/imagegate/internal/verify"
)

// BenchmarkHandlerFloodOfUnknownDigests measures what a flood of Pods
// naming digests nobody pushed costs the webhook's heap. Each iteration is
// one Pod CREATE of a new digest, verified (NoSignature) against an
// in-process registry through the checker `imagegate webhook` builds, and
// denied. The store's writer is nil: a denial that tried to write a record
// would panic. Reported: the heap retained after b.N denials (after a GC),
// per denial the cache holds, and the denials held, which stop at
// cache.MaxDeniedEntries. Run past the cap to see the heap stay flat:
//
//	go test ./internal/admission -run '^$' -bench FloodOfUnknownDigests -benchtime 1000x
//	go test ./internal/admission -run '^$' -bench FloodOfUnknownDigests -benchtime 20000x
func BenchmarkHandlerFloodOfUnknownDigests(b *testing.B) {
	reg := testenv.NewRegistry(b)
	pol := compiledPolicy(b, "", "team", nil, reg.Host()+"/**")
	rc := registry.New(registry.Options{AllowInsecure: true})
	chk := cache.NewChecker(rc, verify.New(rc), cache.CheckerOptions{})
	store := records.NewStore(servingReader{}, nil, chk.TTL, nil)
	h, err := NewHandler(Deps{Policies: staticPolicies{policy.NewSet([]*policy.Policy{pol})}, Records: store, Checker: chk, Recorder: store},
		Options{Audit: io.Discard})
	if err != nil {
		b.Fatal(err)
	}
	template := readTestdata(b, "create-pod-by-digest")
	image := []byte("registry.example/team/web@" + webDigest)
	serve := func(i int) {
		sum := sha256.Sum256(fmt.Appendf(nil, "flood/%d", i))
		body := bytes.Replace(template, image, fmt.Appendf(nil, "%s@sha256:%x", reg.Repo("team/web"), sum), 1)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/validate", bytes.NewReader(body)))
		if !bytes.Contains(rec.Body.Bytes(), []byte("NoSignature")) {
			b.Fatalf("denial %d: %s", i, rec.Body)
		}
	}
	serve(-1) // the registry ping and the handler's first-use allocations
	reg.ResetRequests()
	before := heapAlloc()
	i := 0
	for b.Loop() {
		serve(i)
		i++
	}
	reg.ResetRequests() // the fixture's request log is not the webhook's
	retained := float64(int64(heapAlloc()) - int64(before))
	held := chk.Cache().Len(cache.ClassDenied)
	b.ReportMetric(retained/(1<<20), "heap-MiB-retained")
	b.ReportMetric(retained/float64(max(held, 1)), "heap-B/denial-held")
	b.ReportMetric(float64(held), "denials-held")
}

func heapAlloc() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
