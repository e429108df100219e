package recordgc

import "github.com/prometheus/client_golang/prometheus"

// Reasons a record is collected for: the label values of
// imagegate_records_collected_total.
const (
	// ReasonExpired: status.expiresAt is more than the grace period ago.
	ReasonExpired = "expired"
	// ReasonIncomplete: no status was ever written (the writer failed
	// between creating the record and writing its status); such a record
	// approves nothing.
	ReasonIncomplete = "incomplete"
	// ReasonPolicyChanged: the trust policy the record names is gone, or
	// its current hash is another: the record can never approve again.
	// This is what ends an exception's record without an expiry.
	ReasonPolicyChanged = "policyChanged"
)

func newCollected(reg prometheus.Registerer) (*prometheus.CounterVec, error) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "imagegate_records_collected_total",
		Help: "ImageVerifications deleted by the controller's record collector, by reason.",
	}, []string{"reason"})
	for _, r := range []string{ReasonExpired, ReasonIncomplete, ReasonPolicyChanged} {
		c.WithLabelValues(r) // export zeros, so that rate() sees the first deletion
	}
	if reg == nil {
		return c, nil
	}
	if err := reg.Register(c); err != nil {
		return nil, err
	}
	return c, nil
}
