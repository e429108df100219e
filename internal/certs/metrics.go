package certs

import (
	"os"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"
)

// ExpiryMetricName is the gauge ExpiryCollector exports.
const ExpiryMetricName = "imagegate_webhook_certificate_expiry_timestamp_seconds"

// ExpiryCollector exports the expiry (Unix seconds) of the serving
// certificate in dir, read at scrape time, whoever writes it (imagegate
// itself or cert-manager). A file that cannot be read or parsed reads as 0,
// which an expiry alert treats as already expired.
func ExpiryCollector(dir string) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: ExpiryMetricName,
		Help: "Expiry of the webhook's serving certificate in --cert-dir, in Unix seconds; 0 when it cannot be read.",
	}, func() float64 {
		b, err := os.ReadFile(filepath.Join(dir, KeyCert)) //nolint:gosec // dir is the webhook's own --cert-dir.
		if err != nil {
			return 0
		}
		certs, err := decodeCerts(b)
		if err != nil {
			return 0
		}
		return float64(certs[0].NotAfter.Unix())
	})
}
