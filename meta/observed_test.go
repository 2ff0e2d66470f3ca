package meta_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/berthreg/berth/internal/testbolt"
	"github.com/berthreg/berth/meta"
)

func TestObservedStore(t *testing.T) {
	ctx := t.Context()
	type call struct {
		op   string
		took time.Duration
		err  error
	}
	var calls []call
	now := time.Unix(0, 0)
	clock := func() time.Time {
		now = now.Add(time.Second)
		return now
	}
	s := meta.ObservedWith(testbolt.Open(t), func(_ context.Context, o meta.Observation) {
		calls = append(calls, call{o.Op, o.Took, o.Err})
	}, clock)

	if err := s.Update(ctx, func(tx meta.Tx) error {
		_, _, err := tx.Repositories().Ensure("library/app")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	err := s.View(ctx, func(tx meta.Tx) error {
		if _, ok := tx.(meta.Porter); !ok {
			t.Errorf("the transaction %T lost meta.Porter", tx)
		}
		_, err := tx.Repositories().Get("library/missing")
		return err
	})
	if !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("View: %v", err)
	}
	refused := errors.New("refused")
	if err := s.Update(ctx, func(meta.Tx) error { return refused }); err != refused {
		t.Fatalf("Update: %v", err)
	}
	want := []call{{meta.OpUpdate, time.Second, nil}, {meta.OpView, time.Second, meta.ErrNotFound}, {meta.OpUpdate, time.Second, refused}}
	if len(calls) != len(want) {
		t.Fatalf("observed %v, want %v", calls, want)
	}
	for i, c := range calls {
		if c.op != want[i].op || c.took != want[i].took || !errors.Is(c.err, want[i].err) || (c.err == nil) != (want[i].err == nil) {
			t.Errorf("observation %d: %+v, want %+v", i, c, want[i])
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.View(ctx, func(meta.Tx) error { return nil }); err == nil {
		t.Error("View after Close through the wrapper succeeded: Close did not reach the store")
	}
}
