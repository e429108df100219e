package charts_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/imagegate/imagegate/internal/testenv"
)

// TestChartCopiesCurrent: Helm cannot read outside the chart, so it
// carries copies of config/'s CRDs and monitoring assets; they must be
// byte for byte the same.
func TestChartCopiesCurrent(t *testing.T) {
	t.Parallel()
	root := testenv.ModuleRoot()
	crds, err := filepath.Glob(filepath.Join(root, "config", "crd", "bases", "*.yaml"))
	if err != nil || len(crds) == 0 {
		t.Fatalf("no CRDs in config/crd/bases (%v)", err)
	}
	copies, err := filepath.Glob(filepath.Join(chartDir, "crds", "*"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names(crds), names(copies)) {
		t.Errorf("charts/imagegate/crds holds %v, config/crd/bases %v: run `make chart-files`", names(copies), names(crds))
	}
	pairs := map[string]string{}
	for _, c := range crds {
		pairs[c] = filepath.Join(chartDir, "crds", filepath.Base(c))
	}
	for _, f := range []string{"prometheusrule.yaml", "dashboard.json"} {
		pairs[filepath.Join(root, "config", "monitoring", f)] = filepath.Join(chartDir, "files", f)
	}
	for src, dst := range pairs {
		want, err := os.ReadFile(src)
		if err != nil {
			t.Errorf("reading the canonical %s: %v", src, err)
			continue
		}
		got, err := os.ReadFile(dst)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("charts/%s is not a copy of %s: run `make chart-files`", dst, src)
		}
	}
}

func names(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = filepath.Base(p)
	}
	slices.Sort(out)
	return out
}
