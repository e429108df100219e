package setters_test

import (
	"bytes"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/imagegate/imagegate/internal/setters"
)

func TestScanFindsMarkedScalarsAsApply(t *testing.T) {
	t.Parallel()
	src := []byte(`image: ghcr.io/org/app:v1@sha256:aa # {"$imagepolicy": "flux-system:app"}
other: x # a comment
---
spec:
  name: ghcr.io/org/web # {"$imagepolicy": "apps:web:name"}
  tag: v2 # {"$imagepolicy": "apps:web:tag"}
  # {"$imagepolicy": "not:a:setter"}
  bad: y
  key: z # {"$imagepolicy": "x:y:nope"}
`)
	got, err := setters.Scan(src)
	if err != nil {
		t.Fatal(err)
	}
	want := []setters.Marked{
		{Doc: 0, Line: 1, Policy: setters.Policy{Namespace: "flux-system", Name: "app"}, Value: "ghcr.io/org/app:v1@sha256:aa"},
		{Doc: 1, Line: 5, Policy: setters.Policy{Namespace: "apps", Name: "web"}, Setter: "name", Value: "ghcr.io/org/web"},
		{Doc: 1, Line: 6, Policy: setters.Policy{Namespace: "apps", Name: "web"}, Setter: "tag", Value: "v2"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Scan = %+v\nwant %+v", got, want)
	}
	if _, err := setters.Scan([]byte("a: [\n# {\"$imagepolicy\": \"a:b\"}\n")); err == nil {
		t.Fatal("Scan of invalid YAML returned no error")
	}
	if ms, err := setters.Scan([]byte("a: b\n")); ms != nil || err != nil {
		t.Fatalf("Scan of an unmarked file = %v, %v; want nothing", ms, err)
	}
}

// TestScanRefusesADenseFileUnparsed: a marked file that may hold more YAML
// nodes than the gate parses (many tiny nodes, ~250 bytes of heap for each
// 2 bytes of file) is refused before the parser runs, with the limit named,
// and costs about the memory of reading it.
func TestScanRefusesADenseFileUnparsed(t *testing.T) {
	dense := append([]byte(`image: a # {"$imagepolicy": "ns:app"}`+"\nlist: ["), bytes.Repeat([]byte("a,"), setters.DefaultLimits.MaxFileNodes)...)
	dense = append(dense, "a]\n"...)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	ms, err := setters.Scan(dense)
	runtime.ReadMemStats(&after)
	if ms != nil || err == nil || !strings.Contains(err.Error(), fmt.Sprintf("over the limit of %d", setters.DefaultLimits.MaxFileNodes)) {
		t.Fatalf("Scan of a dense file = %d marks, %v; want it refused naming the limit", len(ms), err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Fatalf("refusing a %d-byte file allocated %d bytes; want it refused unparsed (under 1 MiB)", len(dense), grew)
	}
}
