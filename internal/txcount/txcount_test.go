package txcount_test

import (
	"context"
	"testing"

	"github.com/berthreg/berth/internal/testbolt"
	"github.com/berthreg/berth/internal/txcount"
	"github.com/berthreg/berth/meta"
)

func TestCounts(t *testing.T) {
	s := txcount.New(testbolt.Open(t))
	ctx := context.Background()
	noop := func(meta.Tx) error { return nil }
	for range 2 {
		if err := s.View(ctx, noop); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Update(ctx, noop); err != nil {
		t.Fatal(err)
	}
	if s.Views() != 2 || s.Updates() != 1 || s.Transactions() != 3 {
		t.Fatalf("views %d updates %d, want 2 and 1", s.Views(), s.Updates())
	}
	poll, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		for poll.Err() == nil {
			_ = s.View(ctx, noop)
		}
	}()
	before := s.Transactions()
	s.WaitMore(t, 5)
	if got := s.Transactions(); got < before+5 {
		t.Fatalf("WaitMore returned after %d transactions, want at least %d", got, before+5)
	}
}
