package server

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/storage"
	"github.com/berthreg/berth/storage/memory"
)

func TestResultOf(t *testing.T) {
	for err, want := range map[error]string{
		nil:                                      "ok",
		fmt.Errorf("x: %w", storage.ErrNotFound): "not_found",
		fmt.Errorf("x: %w", meta.ErrNotFound):    "not_found",
		fmt.Errorf("x: %w", storage.ErrUnavailable): "unavailable",
		fmt.Errorf("x: %w", meta.ErrUnavailable):    "unavailable",
		fmt.Errorf("x: %w", context.Canceled):       "canceled",
		errors.New("disk full"):                     "error",
	} {
		if got := resultOf(err); got != want {
			t.Errorf("resultOf(%v) = %q, want %q", err, got, want)
		}
	}
}

// TestStorageMetrics: the driver's calls are counted by operation and
// result, and the driver keeps its optional interfaces.
func TestStorageMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	d, err := observeStorage(reg, memory.New(), tracing{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := d.(storage.Opener); !ok {
		t.Error("the memory driver lost storage.Opener")
	}
	ctx := t.Context()
	w, err := d.Writer(ctx, "a", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := d.Stat(ctx, "missing"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatal(err)
		}
	}
	for labels, want := range map[[2]string]float64{
		{storage.OpWriter, "ok"}:      1,
		{storage.OpCommit, "ok"}:      1,
		{storage.OpStat, "not_found"}: 2,
	} {
		if got := histogramCount(t, reg, "berth_storage_operation_duration_seconds", map[string]string{"operation": labels[0], "result": labels[1]}); got != want {
			t.Errorf("%v: %v calls, want %v", labels, got, want)
		}
	}
	if _, err := observeStorage(reg, memory.New(), tracing{}); err == nil {
		t.Error("registering twice succeeded")
	}
}

// histogramCount is the sample count of the histogram series of reg
// with name and exactly labels (0 when there is none).
func histogramCount(t *testing.T, reg prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	n, _ := seriesValue(t, reg, name, labels)
	return n
}
