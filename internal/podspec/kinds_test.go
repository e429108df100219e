package podspec

import (
	"strings"
	"testing"
)

func TestPlaceOf(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		apiVersion, kind string
		path             string
	}{
		{"v1", "Pod", "spec"},
		{"v1", "ReplicationController", "spec.template.spec"},
		{"apps/v1", "Deployment", "spec.template.spec"},
		{"apps/v1", "ReplicaSet", "spec.template.spec"},
		{"apps/v1", "StatefulSet", "spec.template.spec"},
		{"apps/v1", "DaemonSet", "spec.template.spec"},
		{"batch/v1", "Job", "spec.template.spec"},
		{"batch/v1", "CronJob", "spec.jobTemplate.spec.template.spec"},
		{"batch/v1beta1", "CronJob", "spec.jobTemplate.spec.template.spec"},
		{"v1", "ConfigMap", ""},
		{"v1", "Deployment", ""},      // wrong group
		{"example.com/v1", "Pod", ""}, // a CRD of the same name
		{"apps/v1", "deployment", ""}, // kinds are case-sensitive
	} {
		got := strings.Join(PlaceOf(GroupOf(tc.apiVersion), tc.kind).Path(), ".")
		if got != tc.path {
			t.Errorf("%s %s: pod spec at %q, want %q", tc.apiVersion, tc.kind, got, tc.path)
		}
	}
}

func TestPlaceOfAllocatesNothing(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { _ = PlaceOf("apps", "Deployment") }); n != 0 {
		t.Fatalf("%v allocations per call, want 0: the webhook asks per request", n)
	}
}
