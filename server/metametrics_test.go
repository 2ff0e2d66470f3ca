package server

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berthreg/berth/internal/testbolt"
	"github.com/berthreg/berth/internal/testpg"
	"github.com/berthreg/berth/meta"
)

// TestMetaMetrics: transactions are timed by type and result, and a
// bbolt store's group commits are counted; a store of another kind has
// no such counters.
func TestMetaMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, err := observeStore(reg, testbolt.Open(t), tracing{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := s.Update(ctx, func(tx meta.Tx) error {
		_, _, err := tx.Repositories().Ensure("library/app")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	_ = s.View(ctx, func(tx meta.Tx) error {
		_, err := tx.Repositories().Get("library/missing")
		return err
	})
	for labels, want := range map[[2]string]float64{{meta.OpUpdate, "ok"}: 1, {meta.OpView, "not_found"}: 1} {
		if got := histogramCount(t, reg, "berth_meta_transaction_duration_seconds", map[string]string{"type": labels[0], "result": labels[1]}); got != want {
			t.Errorf("%v: %v transactions, want %v", labels, got, want)
		}
	}
	if got := counter(t, reg, "berth_meta_commit_batches_total", nil); got != 1 {
		t.Errorf("batches: %v, want 1", got)
	}
	if got := counter(t, reg, "berth_meta_commit_batched_updates_total", nil); got != 1 {
		t.Errorf("batched updates: %v, want 1", got)
	}
	if _, err := observeStore(reg, testbolt.Open(t), tracing{}); err == nil {
		t.Error("registering twice succeeded")
	}

	other := prometheus.NewRegistry()
	if _, err := observeStore(other, struct{ meta.Store }{testbolt.Open(t)}, tracing{}); err != nil {
		t.Fatal(err)
	}
	fams, err := other.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		t.Errorf("a store without stats has %s", f.GetName())
	}
}

// TestMetaMetricsOnPostgres: a PostgreSQL store's conflict counters are
// published.
func TestMetaMetricsOnPostgres(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, err := observeStore(reg, testpg.Open(t), tracing{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(t.Context(), func(tx meta.Tx) error {
		_, _, err := tx.Repositories().Ensure("library/app")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"berth_meta_conflict_retries_total", "berth_meta_conflict_failures_total"} {
		if got := counter(t, reg, name, nil); got != 0 {
			t.Errorf("%s: %v without conflicts", name, got)
		}
	}
	if got := histogramCount(t, reg, "berth_meta_transaction_duration_seconds", map[string]string{"type": meta.OpUpdate, "result": "ok"}); got != 1 {
		t.Errorf("updates: %v, want 1", got)
	}
}
