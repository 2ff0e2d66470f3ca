package server

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berthreg/berth/gc"
	"github.com/berthreg/berth/proxy"
)

// gcPhases are the phases a collection reports.
var gcPhases = []string{"mark", "manifests", "blobs", "uploads", "orphans", "done", "failed"}

// gcMetrics returns the observer that publishes garbage collection's
// progress to reg: the current phase, its done and total counts and ETA,
// what the current (or last) run deleted and freed, and finished runs by
// outcome. It fails when reg holds collectors of those names already
// (another server's, say), rather than panicking.
func gcMetrics(reg prometheus.Registerer) (func(gc.Progress), error) {
	phase := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "berth_gc_phase", Help: "1 for the phase the current or last collection is in."}, []string{"phase"})
	done := prometheus.NewGauge(prometheus.GaugeOpts{Name: "berth_gc_phase_done", Help: "Candidates of the current phase handled."})
	total := prometheus.NewGauge(prometheus.GaugeOpts{Name: "berth_gc_phase_candidates", Help: "Candidates of the current phase (renamed from berth_gc_phase_total: a gauge takes no _total)."})
	eta := prometheus.NewGauge(prometheus.GaugeOpts{Name: "berth_gc_phase_eta_seconds", Help: "Estimated time left in the current phase."})
	deleted := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "berth_gc_deleted", Help: "What the current or last collection deleted."}, []string{"what"})
	freed := prometheus.NewGauge(prometheus.GaugeOpts{Name: "berth_gc_freed_bytes", Help: "Bytes the current or last collection freed."})
	runs := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "berth_gc_runs_total", Help: "Collections finished, by outcome."}, []string{"outcome"})
	for _, c := range []prometheus.Collector{phase, done, total, eta, deleted, freed, runs} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("WithRegisterer: %w", err)
		}
	}
	return func(p gc.Progress) {
		for _, name := range gcPhases {
			v := 0.0
			if name == p.Phase {
				v = 1
			}
			phase.WithLabelValues(name).Set(v)
		}
		done.Set(float64(p.Done))
		total.Set(float64(p.Total))
		eta.Set(p.ETA.Seconds())
		r := p.Report
		deleted.WithLabelValues("manifests").Set(float64(r.DeletedManifests))
		deleted.WithLabelValues("blobs").Set(float64(r.DeletedBlobs))
		deleted.WithLabelValues("uploads").Set(float64(r.AbortedUploads))
		deleted.WithLabelValues("orphans").Set(float64(r.DeletedOrphans))
		freed.Set(float64(r.FreedBytes))
		switch p.Phase {
		case "done":
			runs.WithLabelValues("success").Inc()
		case "failed":
			runs.WithLabelValues("failure").Inc()
		}
	}, nil
}

// proxyMetrics returns the observer that publishes the pull-through
// caches' upstream fetches (by upstream, kind and result) and the stale
// copies they served (by project) to reg.
func proxyMetrics(reg prometheus.Registerer) (func(proxy.Observation), error) {
	fetches := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "berth_proxy_upstream_fetches_total",
		Help: "Manifests and blobs the proxy caches asked their upstreams for, by upstream, kind and result."}, []string{"upstream", "kind", "result"})
	fetched := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "berth_proxy_upstream_blob_bytes_total",
		Help: "Bytes of the blobs the proxy caches fetched, by upstream."}, []string{"upstream"})
	stale := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "berth_proxy_stale_served_total",
		Help: "Cached manifests served stale because every upstream failed, by project."}, []string{"project"})
	for _, c := range []prometheus.Collector{fetches, fetched, stale} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("WithRegisterer: %w", err)
		}
	}
	return func(o proxy.Observation) {
		switch o.Kind {
		case "stale":
			stale.WithLabelValues(o.Project).Inc()
			return
		}
		result := "success"
		if o.Err != nil {
			result = "failure"
		} else if o.Kind == "blob" {
			fetched.WithLabelValues(o.Upstream).Add(float64(o.Bytes))
		}
		fetches.WithLabelValues(o.Upstream, o.Kind, result).Inc()
	}, nil
}
