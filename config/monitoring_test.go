package config_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/yaml"

	"github.com/imagegate/imagegate/internal/admission"
	"github.com/imagegate/imagegate/internal/cache"
	"github.com/imagegate/imagegate/internal/certs"
	"github.com/imagegate/imagegate/internal/gate"
	"github.com/imagegate/imagegate/internal/recordgc"
	"github.com/imagegate/imagegate/internal/registry"
	"github.com/imagegate/imagegate/internal/verify"
)

// TestMonitoringUsesExportedMetrics checks every PromQL expression of the
// alerts and of the dashboard: each metric it reads is one the binary
// exports (registered by the same constructors the binary calls, or
// controller-runtime's, seen after a real controller ran), and each label
// it filters or groups by is one of that metric's labels.
func TestMonitoringUsesExportedMetrics(t *testing.T) {
	t.Parallel()
	exported := imagegateMetrics(t)
	for name, labels := range controllerRuntimeMetrics(t) {
		exported[name] = labels
	}
	exprs := ruleExpressions(t)
	exprs = append(exprs, dashboardExpressions(t)...)
	if len(exprs) < 10 {
		t.Fatalf("found %d expressions, expected the alerts' and the dashboard's", len(exprs))
	}
	for _, e := range exprs {
		names, labels := promqlNames(e)
		if len(names) == 0 {
			t.Errorf("%q reads no metric", e)
		}
		for _, n := range names {
			have, ok := exported[baseName(n, exported)]
			if !ok {
				t.Errorf("%q reads %s, which imagegate does not export", e, n)
				continue
			}
			for _, l := range labels {
				if !targetLabels[l] && !slices.Contains(have, l) {
					t.Errorf("%q uses label %q, which %s does not have (it has %v)", e, l, n, have)
				}
			}
		}
	}
}

// targetLabels are added by Prometheus at scrape time (PodMonitor, with
// honorLabels so that a metric's own namespace label wins), or by PromQL.
var targetLabels = map[string]bool{"le": true, "job": true, "instance": true, "namespace": true, "pod": true, "container": true, "endpoint": true, "service": true}

// baseName maps a histogram's series to the histogram.
func baseName(n string, exported map[string][]string) string {
	for _, s := range []string{"_bucket", "_sum", "_count"} {
		if b, ok := strings.CutSuffix(n, s); ok {
			if _, isHist := exported[b]; isHist {
				return b
			}
		}
	}
	return n
}

var descRE = regexp.MustCompile(`fqName: "([^"]+)".*variableLabels: \{([^}]*)\}`)

// recorder is a prometheus.Registerer that keeps what it is given.
type recorder map[string][]string

func (r recorder) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc)
	go func() { c.Describe(ch); close(ch) }()
	for d := range ch {
		m := descRE.FindStringSubmatch(d.String())
		if m == nil {
			continue
		}
		var labels []string
		for l := range strings.SplitSeq(m[2], ",") {
			if l = strings.TrimSpace(l); l != "" {
				labels = append(labels, l)
			}
		}
		r[m[1]] = labels
	}
	return nil
}

func (r recorder) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		_ = r.Register(c)
	}
}

func (r recorder) Unregister(prometheus.Collector) bool { return false }

func imagegateMetrics(t *testing.T) map[string][]string {
	t.Helper()
	r := recorder{}
	gate.NewMetrics(r)
	if _, err := admission.NewMetrics(r); err != nil {
		t.Fatal(err)
	}
	reg := registry.New(registry.Options{})
	r.MustRegister(cache.NewChecker(reg, verify.New(reg), cache.CheckerOptions{}).Collectors(reg.Requests)...)
	_ = r.Register(certs.ExpiryCollector(t.TempDir()))
	if _, err := recordgc.New(nil, nil, recordgc.Options{Registerer: r}); err != nil {
		t.Fatal(err)
	}
	if len(r) < 8 {
		t.Fatalf("recorded %d imagegate metrics: %v", len(r), r)
	}
	return r
}

// controllerRuntimeMetrics runs a controller until it reconciled once and
// returns the families controller-runtime's registry then holds.
func controllerRuntimeMetrics(t *testing.T) map[string][]string {
	t.Helper()
	reconciled := make(chan struct{}, 1)
	cp.StartManager(t, nil, ctrl.Options{}, func(mgr ctrl.Manager) error {
		return ctrl.NewControllerManagedBy(mgr).Named("monitoring-probe").For(&corev1.Namespace{}).
			Complete(reconcile.Func(func(context.Context, reconcile.Request) (reconcile.Result, error) {
				select {
				case reconciled <- struct{}{}:
				default:
				}
				return reconcile.Result{}, nil
			}))
	})
	<-reconciled
	out := map[string][]string{}
	err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		families, err := metrics.Registry.(prometheus.Gatherer).Gather()
		if err != nil {
			return false, err
		}
		for _, f := range families {
			var labels []string
			if len(f.GetMetric()) > 0 {
				for _, lp := range f.GetMetric()[0].GetLabel() {
					labels = append(labels, lp.GetName())
				}
			}
			out[f.GetName()] = labels
		}
		_, ok := out["controller_runtime_reconcile_total"]
		return ok, nil
	})
	if err != nil {
		t.Fatalf("controller-runtime's metrics never appeared: %v", err)
	}
	return out
}

func ruleExpressions(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("monitoring", "prometheusrule.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var rule struct {
		Spec struct {
			Groups []struct {
				Rules []struct {
					Alert string `json:"alert"`
					Expr  string `json:"expr"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"spec"`
	}
	if err := yaml.UnmarshalStrict(b, &rule, yaml.DisallowUnknownFields); err != nil {
		// Strict on the fields read above only: metadata and annotations
		// are checked by the API server's dry run.
		if err := yaml.Unmarshal(b, &rule); err != nil {
			t.Fatal(err)
		}
	}
	var out []string
	for _, g := range rule.Spec.Groups {
		for _, r := range g.Rules {
			out = append(out, r.Expr)
		}
	}
	return out
}

func dashboardExpressions(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("monitoring", "dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			out = append(out, tg.Expr)
		}
	}
	return out
}

var (
	stringRE   = regexp.MustCompile(`"[^"]*"`)
	groupingRE = regexp.MustCompile(`\b(by|without|on|ignoring)\s*\(([^)]*)\)`)
	matcherRE  = regexp.MustCompile(`\{([^}]*)\}`)
	labelRE    = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)`)
	rangeRE    = regexp.MustCompile(`\[[^\]]*\]`)
	identRE    = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*\s*\(?`)
)

var promqlKeywords = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true, "group_left": true, "group_right": true}

// promqlNames returns the metric names and the label names an expression
// uses. It reads the subset of PromQL the assets use: selectors with
// matchers, ranges, aggregations with by/without, functions, arithmetic.
func promqlNames(expr string) (names, labels []string) {
	e := stringRE.ReplaceAllString(expr, `""`)
	for _, m := range groupingRE.FindAllStringSubmatch(e, -1) {
		for l := range strings.SplitSeq(m[2], ",") {
			if l = strings.TrimSpace(l); l != "" {
				labels = append(labels, l)
			}
		}
	}
	e = groupingRE.ReplaceAllString(e, " ")
	for _, m := range matcherRE.FindAllStringSubmatch(e, -1) {
		for _, l := range labelRE.FindAllStringSubmatch(m[1], -1) {
			labels = append(labels, l[1])
		}
	}
	e = matcherRE.ReplaceAllString(e, " ")
	e = rangeRE.ReplaceAllString(e, " ")
	for _, id := range identRE.FindAllString(e, -1) {
		if id = strings.TrimSpace(id); strings.HasSuffix(id, "(") || promqlKeywords[id] {
			continue // a function or an operator
		}
		names = append(names, id)
	}
	return names, labels
}

func TestPromQLNames(t *testing.T) {
	t.Parallel()
	for expr, want := range map[string][2][]string{
		`sum by (reason) (increase(a_total{result="Denied", x=~"y"}[15m])) > 0`: {{"a_total"}, {"reason", "result", "x"}},
		`histogram_quantile(0.99, sum by (le) (rate(h_bucket[5m]))) > 2`:        {{"h_bucket"}, {"le"}},
		`min(exp_seconds) - time() < 14 * 86400`:                                {{"exp_seconds"}, nil},
		`a or on (pod) b unless c`:                                              {{"a", "b", "c"}, {"pod"}},
	} {
		names, labels := promqlNames(expr)
		if !slices.Equal(names, want[0]) || !slices.Equal(labels, want[1]) {
			t.Errorf("%s: names %q labels %q, want %q %q", expr, names, labels, want[0], want[1])
		}
	}
}
