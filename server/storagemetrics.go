package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/storage"
)

// storageBuckets are the storage operations' latency buckets, in
// seconds: from a local stat to a slow object store's multipart commit.
var storageBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// observeStorage returns d with its operations published to reg
// (storage.Observed): their latencies by operation and result. It keeps
// exactly d's optional interfaces.
func observeStorage(reg prometheus.Registerer, d storage.Driver) (storage.Driver, error) {
	ops := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "berth_storage_operation_duration_seconds",
		Help:    "Storage driver calls by operation and result (ok, not_found, unavailable, canceled, error): their latency; a result's count is its calls (streams' reads and writes are not timed, only opening them and committing).",
		Buckets: storageBuckets}, []string{"operation", "result"})
	if err := reg.Register(ops); err != nil {
		return nil, fmt.Errorf("WithRegisterer: %w", err)
	}
	return storage.Observed(d, func(op string, took time.Duration, err error) {
		ops.WithLabelValues(op, resultOf(err)).Observe(took.Seconds())
	}), nil
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
