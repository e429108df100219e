package cache

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/imagegate/imagegate/internal/verify"
)

// Collectors export the checker's totals as counters read at scrape time:
// the registry requests registryRequests counts (registry.Client.Requests),
// verifications run, results served from the cache, verifications running
// now and those that gave up waiting for a slot; and the entries each
// capped class of the cache holds. The controller and the webhook each
// register them.
func (c *Checker) Collectors(registryRequests func() int64) []prometheus.Collector {
	counter := func(name, help string, get func() int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(get()) })
	}
	cs := []prometheus.Collector{
		counter("imagegate_registry_requests_total", "HTTP requests sent to registries.", registryRequests),
		counter("imagegate_verification_cache_hits_total", "Verification results served by the in-process cache.", c.Cache().Hits),
		counter("imagegate_verifications_total", "Verifications run (coalesced callers share one).", c.Cache().Calls),
		cacheEntries{cache: c.Cache(), desc: prometheus.NewDesc("imagegate_verification_cache_entries",
			"Entries the in-process verification cache holds, by class; each class has a fixed cap.", []string{"class"}, nil)},
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "imagegate_verifications_in_flight",
			Help: "Verifications running now, at most --max-concurrent-verifications.",
		}, func() float64 { return float64(c.Running()) }),
		counter("imagegate_verification_slot_timeouts_total",
			"Verifications that gave up waiting for a free slot (--max-concurrent-verifications) when their request's context ended; answered Unavailable.", c.SlotTimeouts),
	}
	if r, ok := c.verifier.(rekorStats); ok {
		cs = append(cs,
			counter("imagegate_rekor_requests_total", "HTTP requests sent to Rekor by tlog mode online lookups.", r.RekorRequests),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "imagegate_rekor_cache_entries",
				Help: "Rekor lookups (found or not) the in-process cache holds, at most 512.",
			}, func() float64 { return float64(r.RekorCacheEntries()) }))
	}
	return cs
}

// rekorStats is what *verify.Verifier reports of its Rekor lookups.
type rekorStats interface {
	RekorRequests() int64
	RekorCacheEntries() int
}

// cacheEntries reads the entries of each class at scrape time.
type cacheEntries struct {
	cache *Cache[verify.Outcome]
	desc  *prometheus.Desc
}

// Describe implements prometheus.Collector.
func (e cacheEntries) Describe(ch chan<- *prometheus.Desc) { ch <- e.desc }

// Collect implements prometheus.Collector.
func (e cacheEntries) Collect(ch chan<- prometheus.Metric) {
	for _, class := range []Class{ClassVerified, ClassDenied} {
		ch <- prometheus.MustNewConstMetric(e.desc, prometheus.GaugeValue, float64(e.cache.Len(class)), string(class))
	}
}
