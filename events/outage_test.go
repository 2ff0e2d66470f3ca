package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/internal/faultmeta"
	"github.com/berthreg/berth/internal/outage"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/storage"
)

// The tests of this file take the store down under a consumer
// (internal/faultmeta: every transaction fails with meta.ErrUnavailable,
// as a database server that cannot be reached) and bring it back.

// logRecords keeps what a slog.Logger was given.
type logRecords struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (l *logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecords) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.recs = append(l.recs, r)
	l.mu.Unlock()
	return nil
}
func (l *logRecords) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecords) WithGroup(string) slog.Handler      { return l }

// count returns how many records at level have a message containing msg.
func (l *logRecords) count(level slog.Level, msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.recs {
		if r.Level == level && strings.Contains(r.Message, msg) {
			n++
		}
	}
	return n
}

// seen collects the sequence numbers a Func consumer handled.
type seen struct {
	mu   sync.Mutex
	seqs []uint64
}

func (s *seen) fn() Func {
	return func(_ context.Context, batch []meta.Event) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, e := range batch {
			s.seqs = append(s.seqs, e.Seq)
		}
		return nil
	}
}

func (s *seen) count() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.seqs) }

// TestConsumerResumesOnBellAfterOutage: a consumer whose step failed
// because the store was down resumes as soon as an event is appended
// here once the store is back (the Bell rings), though its retry delay
// and its poll are an hour (it used to wait out its retry delay, deaf to
// the Bell).
func TestConsumerResumesOnBellAfterOutage(t *testing.T) {
	s := faultmeta.Wrap(openStore(t))
	bell := &Bell{}
	var got seen
	c := newTestConsumer(t, s, "hooks", got.fn(), WithBell(bell), WithPoll(time.Hour), WithRetry(time.Hour))
	if err := c.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	s.SetDown(true)
	runConsumer(t, c)
	eventually.True(t, "a step refused", func() bool { return s.Refused() >= 1 })
	s.SetDown(false)
	appendEvents(t, s, "a/1")
	bell.Ring()
	eventually.True(t, "the event handled", func() bool { return got.count() == 1 })
}

// TestConsumerBellEndsOutageWait: the same, with the outage's wait capped
// at an hour too: the Bell alone ends it.
func TestConsumerBellEndsOutageWait(t *testing.T) {
	s := faultmeta.Wrap(openStore(t))
	bell := &Bell{}
	var got seen
	c := newTestConsumer(t, s, "hooks", got.fn(), WithBell(bell), WithPoll(time.Hour), WithRetry(time.Hour), WithOutageRetry(time.Hour))
	if err := c.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	s.SetDown(true)
	runConsumer(t, c)
	eventually.True(t, "a step refused", func() bool { return s.Refused() >= 1 })
	s.SetDown(false)
	appendEvents(t, s, "a/1")
	bell.Ring()
	eventually.True(t, "the event handled", func() bool { return got.count() == 1 })
}

// TestConsumerOutageWaitIsCapped: without a Bell, a consumer retries
// every WithOutageRetry while the store is down, however long its
// handler retry delay, and so picks up events appended elsewhere soon
// after the store is back. The outage is logged once, its end once, at
// Warn, and no Error.
func TestConsumerOutageWaitIsCapped(t *testing.T) {
	raw := openStore(t)
	s := faultmeta.Wrap(raw)
	logs := &logRecords{}
	var got seen
	c := newTestConsumer(t, s, "hooks", got.fn(), WithPoll(time.Hour), WithRetry(time.Hour), WithOutageRetry(5*time.Millisecond),
		WithLogger(slog.New(logs)))
	if err := c.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	s.SetDown(true)
	runConsumer(t, c)
	eventually.True(t, "steps retried while down", func() bool { return s.Refused() >= 5 })
	// Appended by another instance (no Bell here), past the outage, so
	// that the first step after it finds the event: appended after the
	// store came back, it would wait for the hour-long poll whenever the
	// consumer recovered first.
	appendEvents(t, raw, "a/1")
	s.SetDown(false)
	eventually.True(t, "the event handled", func() bool { return got.count() == 1 })
	eventually.True(t, "the recovery logged", func() bool { return logs.count(slog.LevelWarn, "recovered") > 0 })
	if down, up, errs := logs.count(slog.LevelWarn, "unavailable"), logs.count(slog.LevelWarn, "recovered"), logs.count(slog.LevelError, ""); down != 1 || up != 1 || errs != 0 {
		t.Errorf("logged the outage %d times, its end %d times and %d errors; want 1, 1, 0", down, up, errs)
	}
}

// TestAfterFailure: the rule Run waits by. A handler's failure backs off,
// doubling to a minute, deaf to the Bell; an outage waits at most
// WithOutageRetry and listens to the Bell.
func TestAfterFailure(t *testing.T) {
	c := newTestConsumer(t, openStore(t), "x", Func(func(context.Context, []meta.Event) error { return nil }), WithOutageRetry(4*time.Second))
	handlerErr := errors.New("receiver answered 500")
	delay := time.Second
	for _, want := range []time.Duration{1, 2, 4, 8, 16, 32, 60, 60} {
		wait, next, bell := c.afterFailure(handlerErr, delay)
		if wait != want*time.Second || bell {
			t.Errorf("handler failure with delay %v: wait %v (bell %v), want %v, deaf", delay, wait, bell, want*time.Second)
		}
		delay = next
	}
	for _, err := range []error{fmt.Errorf("x: %w", meta.ErrUnavailable), fmt.Errorf("y: %w", storage.ErrUnavailable)} {
		delay = time.Second
		for _, want := range []time.Duration{1, 2, 4, 4, 4} {
			wait, next, bell := c.afterFailure(err, delay)
			if wait != want*time.Second || !bell {
				t.Errorf("%v with delay %v: wait %v (bell %v), want %v, listening", err, delay, wait, bell, want*time.Second)
			}
			delay = next
		}
		// A long WithRetry does not lengthen an outage's wait.
		if wait, _, _ := c.afterFailure(err, time.Hour); wait != 4*time.Second {
			t.Errorf("%v with delay 1h: wait %v, want 4s", err, wait)
		}
	}
}

// TestFuncLeaseLostInOutageIsAnOutage: a Func consumer whose lease
// renewals fail because the store is down stops its batch with
// ErrLeaseLost, and the error also says it was an outage, so that Run
// retries soon rather than backing off as for a failing handler.
func TestFuncLeaseLostInOutageIsAnOutage(t *testing.T) {
	s := faultmeta.Wrap(openStore(t))
	appendEvents(t, s, "a/1")
	clock := newFakeClock()
	const lease = 150 * time.Millisecond
	var started atomic.Bool
	c := newTestConsumer(t, s, "slow", Func(func(ctx context.Context, _ []meta.Event) error {
		started.Store(true)
		<-ctx.Done()
		return ctx.Err()
	}), WithLease(lease), withClock(clock.Now))
	stepped := make(chan error, 1)
	go func() { _, err := c.Step(context.Background()); stepped <- err }()
	eventually.True(t, "the batch started", started.Load)
	s.SetDown(true)
	clock.Move(lease*2/3 + time.Millisecond)
	var err error
	eventually.True(t, "the step to end", func() bool {
		select {
		case err = <-stepped:
			return true
		default:
			return false
		}
	})
	if !errors.Is(err, ErrLeaseLost) || !outage.Is(err) {
		t.Errorf("Step = %v, want ErrLeaseLost and an outage", err)
	}
}
