package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/internal/testbolt"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/storage/memory"
)

// TestConsumersTakeTheJobLease: events.jobLease is also the lease of the
// server's Func consumers (a host's here): one knob for how long other
// instances wait before they take over work of an instance that died.
// The consumer's lease record, taken while it handles a batch, runs the
// configured hour from when it was taken (it used to be the consumers'
// default 30 s, whatever the setting).
func TestConsumersTakeTheJobLease(t *testing.T) {
	store := testbolt.Open(t)
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	consumer := Consumer{Name: "host-slow", Handler: events.Func(func(ctx context.Context, _ []meta.Event) error {
		select {
		case entered <- struct{}{}:
		default:
		}
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	})}
	cfg := testConfig()
	cfg.DataDir = t.TempDir()
	cfg.Auth.AdminPassword = "admin-password"
	cfg.Events.JobLease = time.Hour
	srv, err := New(t.Context(), cfg, WithStore(store), WithStorage(memory.New()), WithConsumers(consumer),
		WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- srv.Run(ctx) }()
	defer func() { close(release); cancel(); _ = srv.Close(); <-ran }()
	// New's own events (the admin, the library project) make a batch.
	eventually.True(t, "the consumer's batch", func() bool { return len(entered) > 0 })
	var lease struct {
		Until time.Time `json:"until"`
	}
	err = store.View(t.Context(), func(tx meta.Tx) error {
		raw, err := tx.Records("eventConsumerLeases").Get("host-slow")
		if err != nil {
			return err
		}
		return json.Unmarshal(raw, &lease)
	})
	if err != nil {
		t.Fatal(err)
	}
	if !lease.Until.After(before.Add(59 * time.Minute)) {
		t.Errorf("the consumer's lease runs until %v, %v after the server started; want the configured hour", lease.Until, lease.Until.Sub(before))
	}
}
