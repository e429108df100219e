package gate

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
)

// TestDeletedGateLeavesNoBlockedSeries: the blocked-selections gauge of a
// deleted ImageGate would keep ImagegateSelectionsBlocked firing forever.
func TestDeletedGateLeavesNoBlockedSeries(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "web")
	w.rec.Metrics = NewMetrics(prometheus.NewRegistry())
	d := w.push("web", "v2.0.0")
	w.selectTag("web", "v2.0.0", d)
	if _, err := w.reconcile(); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(w.rec.Metrics.blocked.WithLabelValues(w.ns, "gate")); got != 1 {
		t.Fatalf("blocked selections %v, want 1 for the unsigned tag", got)
	}
	if err := cp.Client.Delete(context.Background(), &igv1.ImageGate{ObjectMeta: w.gate().ObjectMeta}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.reconcile(); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(w.rec.Metrics.blocked); n != 0 {
		t.Errorf("%d blocked-selections series left after the ImageGate was deleted", n)
	}
	if n := testutil.CollectAndCount(w.rec.Metrics.duration); n != 0 {
		t.Errorf("%d reconcile-duration series left after the ImageGate was deleted", n)
	}
}
