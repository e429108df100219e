package trustroot

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the Source's Prometheus collectors.
type metrics struct {
	lastRefresh prometheus.Gauge
	failures    prometheus.Counter
	stale       prometheus.Gauge
	requests    prometheus.Counter
}

func newMetrics() *metrics {
	return &metrics{
		lastRefresh: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "imagegate_trust_root_last_refresh_timestamp_seconds",
			Help: "Unix time the Sigstore public-good trusted root was last confirmed current by the TUF repository (0: never).",
		}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "imagegate_trust_root_refresh_failures_total",
			Help: "Refreshes of the Sigstore public-good trusted root through TUF that failed.",
		}),
		stale: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "imagegate_trust_root_stale",
			Help: "1 while the last refresh of the public-good trusted root failed (the last good root is used, or none: keyless authorities relying on it are Unavailable), else 0.",
		}),
		requests: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "imagegate_trust_root_tuf_requests_total",
			Help: "HTTP requests sent to the TUF mirror.",
		}),
	}
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.lastRefresh, m.failures, m.stale, m.requests}
}

func (m *metrics) request() { m.requests.Inc() }
