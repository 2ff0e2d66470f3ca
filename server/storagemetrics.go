package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/storage"
)

// storageBuckets are the storage operations' latency buckets, in
// seconds: from a local stat to a slow object store's multipart commit.
var storageBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// observeStorage returns d with its operations published to reg
// (storage.Observed): their latencies by operation and result; and, with
// tracing on, each as a span of the trace its caller is in. It keeps
// exactly d's optional interfaces.
func observeStorage(reg prometheus.Registerer, d storage.Driver, traces tracing) (storage.Driver, error) {
	ops := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "berth_storage_operation_duration_seconds",
		Help:    "Storage driver calls by operation and result (ok, not_found, unavailable, canceled, error): their latency; a result's count is its calls (streams' reads and writes are not timed, only opening them and committing).",
		Buckets: storageBuckets}, []string{"operation", "result"})
	if err := reg.Register(ops); err != nil {
		return nil, fmt.Errorf("WithRegisterer: %w", err)
	}
	rec := callRecorder{latency: ops, tracer: traces.tracer(), prefix: "storage."}
	return storage.Observed(d, func(ctx context.Context, o storage.Observation) {
		rec.record(ctx, o.Op, o.Start, o.Took, o.Err)
	}), nil
}

// callRecorder publishes the storage or metadata calls of one kind: their
// latency by operation and result, and, with a tracer, each as a child
// span of its caller's trace named prefix + operation.
type callRecorder struct {
	latency *prometheus.HistogramVec
	tracer  trace.Tracer // nil: no spans
	prefix  string
}

// record publishes one call.
func (c callRecorder) record(ctx context.Context, op string, start time.Time, took time.Duration, err error) {
	result := resultOf(err)
	c.latency.WithLabelValues(op, result).Observe(took.Seconds())
	if c.tracer != nil {
		childSpan(ctx, c.tracer, c.prefix+op, start, took, result, err)
	}
}

// resultOf classes the error of a storage or metadata call for the
// metrics: ok, not_found, unavailable (the backend cannot be reached),
// canceled (the caller gave up) or error.
func resultOf(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, storage.ErrNotFound) || errors.Is(err, meta.ErrNotFound):
		return "not_found"
	case errors.Is(err, storage.ErrUnavailable) || errors.Is(err, meta.ErrUnavailable):
		return "unavailable"
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return "canceled"
	}
	return "error"
}
