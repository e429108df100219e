package admission

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the webhook's Prometheus metrics. Register them on
// controller-runtime's registry (sigs.k8s.io/controller-runtime/pkg/metrics)
// so that they are served with the manager's own.
type Metrics struct {
	decisions    *prometheus.CounterVec
	latency      prometheus.Histogram
	recordErrors prometheus.Counter
}

// NewMetrics creates the metrics and registers them, and extra ones (the
// checker's counters), on reg.
func NewMetrics(reg prometheus.Registerer, extra ...prometheus.Collector) (*Metrics, error) {
	m := &Metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "imagegate_admission_decisions_total",
			Help: "Admission decisions per image (per request for ImageVerification writes), by the path that decided and the result (allow, deny, warn).",
		}, []string{"path", "result"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "imagegate_admission_request_duration_seconds",
			Help:    "Time to decide one admission request, body decoding to answer.",
			Buckets: []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
		}),
		recordErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "imagegate_admission_record_errors_total",
			Help: "ImageVerification writes that failed after a verification.",
		}),
	}
	cs := append([]prometheus.Collector{m.decisions, m.latency, m.recordErrors}, extra...)
	var errs []error
	for _, col := range cs {
		if err := reg.Register(col); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("registering admission metrics: %w", err)
	}
	return m, nil
}

func (m *Metrics) observe(out *outcome, latency time.Duration) {
	m.latency.Observe(latency.Seconds())
	if len(out.images) == 0 {
		result := "deny"
		if out.allowed {
			result = "allow"
		}
		m.decisions.WithLabelValues(string(out.path), result).Inc()
		return
	}
	for _, res := range out.images {
		m.decisions.WithLabelValues(string(res.v.Path), imageDecision(res.v)).Inc()
	}
}
