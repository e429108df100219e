package setters_test

import (
	"reflect"
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
