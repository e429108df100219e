package gate

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/cache"
)

// Metrics are the gate's Prometheus metrics. A nil *Metrics records nothing.
type Metrics struct {
	verifications *prometheus.CounterVec
	pushes        *prometheus.CounterVec
	blocked       *prometheus.GaugeVec
	duration      *prometheus.HistogramVec
}

// NewMetrics registers the gate's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		verifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "imagegate_gate_verifications_total",
			Help: "Verifications run by the gate, by result and reason.",
		}, []string{"result", "reason"}),
		pushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "imagegate_gate_pushes_total",
			Help: "Commits pushed (result=success) and failed pushes (result=failure).",
		}, []string{"result"}),
		blocked: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "imagegate_gate_blocked_selections",
			Help: "ImagePolicy selections withheld from Git, per ImageGate.",
		}, []string{"namespace", "name"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "imagegate_gate_reconcile_duration_seconds",
			Help:    "Duration of ImageGate reconciles.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 12),
		}, []string{"namespace", "name"}),
	}
	reg.MustRegister(m.verifications, m.pushes, m.blocked, m.duration)
	return m
}

func (m *Metrics) countVerification(d cache.Decision) {
	if m != nil && d.Source == cache.SourceCall {
		m.verifications.WithLabelValues(string(d.Outcome.Result), string(d.Outcome.Reason)).Inc()
	}
}

func (m *Metrics) countPush(ok bool) {
	if m == nil {
		return
	}
	result := "failure"
	if ok {
		result = "success"
	}
	m.pushes.WithLabelValues(result).Inc()
}

func (m *Metrics) setBlocked(g *igv1.ImageGate, n int) {
	if m != nil {
		m.blocked.WithLabelValues(g.Namespace, g.Name).Set(float64(n))
	}
}

func (m *Metrics) observeReconcile(g *igv1.ImageGate, d time.Duration) {
	if m != nil {
		m.duration.WithLabelValues(g.Namespace, g.Name).Observe(d.Seconds())
	}
}

// forget drops the per-ImageGate series of a deleted ImageGate, so that a
// deleted gate's blocked selections do not keep an alert firing.
func (m *Metrics) forget(namespace, name string) {
	if m != nil {
		labels := prometheus.Labels{"namespace": namespace, "name": name}
		m.blocked.Delete(labels)
		m.duration.Delete(labels)
	}
}
