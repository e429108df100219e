package recordgc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
)

// Defaults of Options.
const (
	DefaultInterval = 10 * time.Minute
	DefaultGrace    = time.Hour
)

// Options configure a Collector.
type Options struct {
	// Interval between two passes; default DefaultInterval.
	Interval time.Duration
	// Grace is how long after a record stopped approving it is kept;
	// default DefaultGrace. It must outlast the time a writer takes to
	// refresh a record, so a collection never races a refresh.
	Grace time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Registerer for imagegate_records_collected_total; nil registers
	// nothing.
	Registerer prometheus.Registerer
}

// Collector deletes ImageVerifications that approve nothing any more.
type Collector struct {
	reader    client.Reader
	writer    client.Writer
	opts      Options
	collected *prometheus.CounterVec
}

// New returns a Collector that lists records and policies through reader
// (the manager's cache) and deletes through writer.
func New(reader client.Reader, writer client.Writer, o Options) (*Collector, error) {
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.Grace <= 0 {
		o.Grace = DefaultGrace
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	collected, err := newCollected(o.Registerer)
	if err != nil {
		return nil, fmt.Errorf("registering the record collector's metric: %w", err)
	}
	return &Collector{reader: reader, writer: writer, opts: o, collected: collected}, nil
}

// Start collects every Interval until ctx ends (manager.Runnable). A pass
// that fails is logged and tried again at the next tick.
func (c *Collector) Start(ctx context.Context) error {
	logger := log.FromContext(ctx).WithName("record-gc")
	t := time.NewTicker(c.opts.Interval)
	defer t.Stop()
	for {
		if n, err := c.Collect(ctx); err != nil {
			logger.Error(err, "collecting ImageVerifications", "deleted", n)
		} else if n > 0 {
			logger.Info("collected ImageVerifications", "deleted", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// NeedLeaderElection keeps collection to the leader: one replica deleting
// is enough, and the others' deletes would only conflict.
func (c *Collector) NeedLeaderElection() bool { return true }

// Collect runs one pass and returns how many records it deleted.
func (c *Collector) Collect(ctx context.Context) (int, error) {
	var l igv1.ImageVerificationList
	if err := c.reader.List(ctx, &l); err != nil {
		return 0, fmt.Errorf("listing ImageVerifications: %w", err)
	}
	return c.collect(ctx, l.Items)
}

// collect judges each record as listed and deletes the collectable ones,
// on the condition that each is still the object judged: a record written
// since it was listed (refreshed by the gate or a webhook replica) fails
// the precondition and stays.
func (c *Collector) collect(ctx context.Context, items []igv1.ImageVerification) (int, error) {
	now := c.opts.Now()
	n := 0
	var errs []error
	for i := range items {
		iv := &items[i]
		reason, err := c.judge(ctx, iv, now)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if reason == "" {
			continue
		}
		uid, rv := iv.UID, iv.ResourceVersion
		err = c.writer.Delete(ctx, iv, client.Preconditions{UID: &uid, ResourceVersion: &rv})
		switch {
		case apierrors.IsNotFound(err), apierrors.IsConflict(err):
			continue // gone already, or written again since it was listed
		case err != nil:
			errs = append(errs, fmt.Errorf("deleting ImageVerification %s (%s): %w", iv.Name, reason, err))
			continue
		}
		c.collected.WithLabelValues(reason).Inc()
		n++
	}
	return n, errors.Join(errs...)
}

// judge returns why iv may be deleted at now, or "" to keep it.
func (c *Collector) judge(ctx context.Context, iv *igv1.ImageVerification, now time.Time) (string, error) {
	past := func(t time.Time) bool { return now.After(t.Add(c.opts.Grace)) }
	st := iv.Status
	switch {
	case st.ExpiresAt != nil && past(st.ExpiresAt.Time):
		return ReasonExpired, nil
	case st.Result == "":
		if past(iv.CreationTimestamp.Time) {
			return ReasonIncomplete, nil
		}
		return "", nil
	case st.VerifiedAt == nil || !past(st.VerifiedAt.Time):
		return "", nil
	}
	current, found, err := c.policyHash(ctx, iv.Spec.Policy)
	if err != nil {
		return "", err
	}
	if !found || (current != "" && current != iv.Spec.PolicyHash) {
		return ReasonPolicyChanged, nil
	}
	return "", nil
}

// policyHash returns the current hash of the policy ref names, as its
// status says; "" while the policy does not compile (then nothing is
// collected for it: a broken policy may be fixed back to the same rules).
func (c *Collector) policyHash(ctx context.Context, ref igv1.PolicyReference) (string, bool, error) {
	var (
		obj    client.Object
		status *igv1.TrustPolicyStatus
	)
	switch ref.Kind {
	case "ClusterTrustPolicy":
		p := &igv1.ClusterTrustPolicy{}
		obj, status = p, &p.Status
	case "TrustPolicy":
		p := &igv1.TrustPolicy{}
		obj, status = p, &p.Status
	default:
		return "", true, nil // the CRD allows no other kind; keep what cannot be judged
	}
	err := c.reader.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, obj)
	if apierrors.IsNotFound(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("reading %s %s/%s: %w", ref.Kind, ref.Namespace, ref.Name, err)
	}
	return status.PolicyHash, true, nil
}
