package server

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berthreg/berth/internal/eventually"
)

// TestSyncSchedulesAppliesAgain: the background applies the stored
// schedules again and again (each instance holds its schedules in
// memory), going on after a failure, until it stops.
func TestSyncSchedulesAppliesAgain(t *testing.T) {
	var calls atomic.Int32
	b := &background{logger: slog.New(slog.DiscardHandler), resync: []func(context.Context) error{
		func(context.Context) error { calls.Add(1); return errors.New("store unreachable") },
		func(context.Context) error { calls.Add(1); return nil },
	}}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); b.syncSchedules(ctx, time.Millisecond) }()
	eventually.True(t, "the schedules applied again, twice", func() bool { return calls.Load() >= 4 })
	cancel()
	<-done
}
