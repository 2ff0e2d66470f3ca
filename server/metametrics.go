package server

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/bolt"
	"github.com/berthreg/berth/meta/postgres"
)

// metaBuckets are the metadata transactions' latency buckets, in
// seconds: from a cached read to an Update that waited out conflicts.
var metaBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}

// observeStore returns s with its transactions published to reg
// (meta.Observed): their latencies by type and result; and, read from
// the store at scrape time, bbolt's group commits or PostgreSQL's
// conflict retries and cached reads when s is one of those.
func observeStore(reg prometheus.Registerer, s meta.Store, traces tracing) (meta.Store, error) {
	txs := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "berth_meta_transaction_duration_seconds",
		Help:    "Metadata store transactions by type (view, update) and result (ok, not_found, unavailable, canceled, error: the transaction's own error included, a refused push say): their latency, waiting for a group commit and retried conflicts included.",
		Buckets: metaBuckets}, []string{"type", "result"})
	cs := []prometheus.Collector{txs}
	counter := func(name, help string, v func() uint64) {
		cs = append(cs, prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(v()) }))
	}
	switch st := s.(type) {
	case interface{ Stats() bolt.Stats }:
		counter("berth_meta_commit_batches_total",
			"bbolt write transactions, each committing the Updates queued together (group commit) with one fsync.",
			func() uint64 { return st.Stats().Batches })
		counter("berth_meta_commit_batched_updates_total",
			"Updates committed by bbolt's group commits: divided by berth_meta_commit_batches_total, the mean batch size.",
			func() uint64 { return st.Stats().Batched })
		counter("berth_meta_commit_reruns_total",
			"Updates run again alone because another Update of their bbolt batch failed and rolled it back.",
			func() uint64 { return st.Stats().Reruns })
	case interface{ Stats() postgres.Stats }:
		counter("berth_meta_conflict_retries_total",
			"PostgreSQL Update attempts run again after a serialization failure or a deadlock.",
			func() uint64 { return st.Stats().Retries })
		counter("berth_meta_conflict_failures_total",
			"PostgreSQL Updates that gave up retrying conflicts and failed as unavailable (503).",
			func() uint64 { return st.Stats().Exhausted })
		if st.Stats().ReadCache {
			counter("berth_meta_cached_reads_total",
				"Tag resolutions the PostgreSQL store's read cache answered without a round trip.",
				func() uint64 { return st.Stats().CachedReads })
		}
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("WithRegisterer: %w", err)
		}
	}
	rec := callRecorder{latency: txs, tracer: traces.tracer(), prefix: "meta."}
	return meta.Observed(s, func(ctx context.Context, o meta.Observation) {
		rec.record(ctx, o.Op, o.Start, o.Took, o.Err)
	}), nil
}
