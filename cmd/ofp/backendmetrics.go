package main

import (
	"sort"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ofp-dev/ofp/internal/backendrpc"
)

// backendCollector exports the back-end client's counts per path as
// ofp_backend_calls_total{path,outcome}, ofp_backend_retries_total{path}
// and the histogram ofp_backend_call_seconds{path}: an operator sees at
// once which of the institution's systems is slow or failing.
type backendCollector struct{ c *backendrpc.Client }

var (
	backendCalls = prometheus.NewDesc("ofp_backend_calls_total",
		"Calls to the institution's back end by path and outcome: ok, refused (an answer of the contract: not found, invalid credentials...), "+
			"unavailable (no usable answer after the retries; the holder answered its client with an error).", []string{"path", "outcome"}, nil)
	backendRetries = prometheus.NewDesc("ofp_backend_retries_total",
		"Attempts beyond the first of back-end calls safe to repeat.", []string{"path"}, nil)
	backendSeconds = prometheus.NewDesc("ofp_backend_call_seconds",
		"Duration of back-end calls, retries included.", []string{"path"}, nil)
)

func (b backendCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- backendCalls
	ch <- backendRetries
	ch <- backendSeconds
}

func (b backendCollector) Collect(ch chan<- prometheus.Metric) {
	stats := b.c.Stats()
	paths := make([]string, 0, len(stats))
	for p := range stats {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		st := stats[p]
		for outcome, n := range map[string]uint64{"ok": st.OK, "refused": st.Refused, "unavailable": st.Unavailable} {
			ch <- prometheus.MustNewConstMetric(backendCalls, prometheus.CounterValue, float64(n), p, outcome)
		}
		ch <- prometheus.MustNewConstMetric(backendRetries, prometheus.CounterValue, float64(st.Retries), p)
		buckets := make(map[float64]uint64, len(st.Buckets))
		for i, le := range backendrpc.LatencyBuckets {
			buckets[le] = st.Buckets[i]
		}
		ch <- prometheus.MustNewConstHistogram(backendSeconds, st.OK+st.Refused+st.Unavailable, st.Seconds, buckets, p)
	}
}
