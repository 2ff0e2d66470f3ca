package events

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/internal/teststores"
	"github.com/berthreg/berth/internal/txcount"
	"github.com/berthreg/berth/meta"
)

// The tests of this file run several instances of one consumer over one
// shared store, as several processes sharing a database would: each test
// takes the store's opener, so that it runs on every backend.

// fakeClock is a clock the test moves; the instances share it (or an
// offset of it), so that a busy machine cannot make a lease expire.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Now().UTC()} }

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *fakeClock) Move(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// recorder notes which instance handled which events, in the order the
// batches were handled, and how many handlers ran at once.
type handled struct {
	mu       sync.Mutex
	seqs     []uint64
	by       []string
	inFlight atomic.Int32
	peak     atomic.Int32
}

func (h *handled) note(instance string, batch []meta.Event) {
	n := h.inFlight.Add(1)
	defer h.inFlight.Add(-1)
	for {
		p := h.peak.Load()
		if n <= p || h.peak.CompareAndSwap(p, n) {
			break
		}
	}
	time.Sleep(time.Millisecond) // long enough for another instance to start the same batch
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range batch {
		h.seqs = append(h.seqs, e.Seq)
		h.by = append(h.by, instance)
	}
}

func (h *handled) snapshot() ([]uint64, []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.seqs), slices.Clone(h.by)
}

// seqsOf lists the sequence numbers of the log, oldest first (they may
// have gaps on a backend whose rolled-back appends burn numbers).
func seqsOf(t *testing.T, s meta.Store) []uint64 {
	t.Helper()
	var out []uint64
	for _, e := range logged(t, s) {
		out = append(out, e.Seq)
	}
	return out
}

// runConsumer runs c until the returned stop is called (or the test ends)
// and waits for Run to return, unless the handler hangs.
func runConsumer(t *testing.T, c *Consumer) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return cancel
}

func TestFuncConsumerOneInstanceAtATime(t *testing.T) {
	teststores.Each(t, testFuncConsumerOneInstanceAtATime)
}

// testFuncConsumerOneInstanceAtATime: while one instance handles a batch,
// the others, stepping, handle nothing (they used to handle the same
// batch); once it is done, the next batch goes to whichever looks first.
func testFuncConsumerOneInstanceAtATime(t *testing.T, open teststores.Opener) {
	s := open(t)
	clock := newFakeClock()
	appendEvents(t, s, "a/1", "a/2", "a/3")
	entered, release := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	var instances []*Consumer
	for i := range 3 {
		c := newTestConsumer(t, s, "hook", Func(func(_ context.Context, batch []meta.Event) error {
			if calls.Add(1) == 1 {
				close(entered)
				<-release
			}
			return nil
		}), WithBatch(2), withClock(clock.Now), WithOwner("instance-"+strconv.Itoa(i)))
		instances = append(instances, c)
	}
	first := make(chan error, 1)
	go func() { _, err := instances[0].Step(t.Context()); first <- err }()
	<-entered
	for _, other := range instances[1:] {
		if n, err := other.Step(t.Context()); n != 0 || err != nil {
			t.Errorf("another instance stepped while the batch was being handled: %d, %v", n, err)
		}
	}
	if got := calls.Load(); got != 1 {
		t.Fatalf("the batch was handed to %d instances at once", got)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if n, err := instances[2].Step(t.Context()); n != 1 || err != nil {
		t.Errorf("the next batch, on another instance: %d, %v", n, err)
	}
	all := seqsOf(t, s)
	if cur, _ := Cursor(t.Context(), s, "hook"); cur != all[len(all)-1] {
		t.Errorf("cursor %d, want %d", cur, all[len(all)-1])
	}
}

func TestFuncConsumerClusterExactlyOnce(t *testing.T) {
	teststores.Each(t, testFuncConsumerClusterExactlyOnce)
}

// testFuncConsumerClusterExactlyOnce: three instances of a Func consumer
// run while events are appended; with no instance dying, each event is
// handled exactly once, in log order, one batch at a time.
func testFuncConsumerClusterExactlyOnce(t *testing.T, open teststores.Opener) {
	s := open(t)
	clock := newFakeClock() // never moved: no lease expires
	var h handled
	for i := range 3 {
		name := "instance-" + strconv.Itoa(i)
		c := newTestConsumer(t, s, "audit", Func(func(_ context.Context, batch []meta.Event) error {
			h.note(name, batch)
			return nil
		}), WithBatch(3), WithPoll(time.Millisecond), withClock(clock.Now), WithOwner(name))
		runConsumer(t, c)
	}
	for round := range 20 {
		var repos []string
		for i := range 1 + round%4 {
			repos = append(repos, "r/"+strconv.Itoa(round)+"-"+strconv.Itoa(i))
		}
		appendEvents(t, s, repos...)
		time.Sleep(time.Millisecond)
	}
	all := seqsOf(t, s)
	eventually.True(t, "every event handled", func() bool {
		cur, err := Cursor(t.Context(), s, "audit")
		return err == nil && cur == all[len(all)-1]
	})
	seqs, by := h.snapshot()
	if !slices.Equal(seqs, all) {
		t.Errorf("handled %v, want each of %v once, in order", seqs, all)
	}
	if p := h.peak.Load(); p != 1 {
		t.Errorf("%d batches handled at once, want 1", p)
	}
	t.Logf("instances that handled the events: %v", slices.Compact(slices.Sorted(slices.Values(by))))
}

func TestFuncConsumerTakeoverAfterKill(t *testing.T) {
	teststores.Each(t, testFuncConsumerTakeoverAfterKill)
}

// testFuncConsumerTakeoverAfterKill: an instance killed while handling a
// batch (its Run stopped, its handler stuck: it neither finishes nor
// releases) keeps the others off until its lease expires; then one of
// them handles that batch again and the rest, skipping nothing; the
// killed instance, if it ever comes back, moves nothing.
func testFuncConsumerTakeoverAfterKill(t *testing.T, open teststores.Opener) {
	s := txcount.New(open(t))
	clock := newFakeClock()
	const lease = time.Minute // of the fake clock: only the test expires it
	appendEvents(t, s, "a/1", "a/2", "a/3", "a/4", "a/5")
	var h handled
	entered, unstick := make(chan struct{}), make(chan struct{})
	victim := newTestConsumer(t, s, "forward", Func(func(ctx context.Context, batch []meta.Event) error {
		close(entered)
		<-unstick // dead: deaf to its context too
		return nil
	}), WithBatch(2), WithPoll(time.Millisecond), WithLease(lease), withClock(clock.Now), WithOwner("victim"))
	vctx, kill := context.WithCancel(context.Background())
	victimDone := make(chan error, 1)
	go func() { _, err := victim.Step(vctx); victimDone <- err }()
	<-entered
	kill()
	t.Cleanup(func() {
		select {
		case <-unstick:
		default:
			close(unstick)
		}
	})
	var survivors []*Consumer
	for i := range 2 {
		name := "survivor-" + strconv.Itoa(i)
		survivors = append(survivors, newTestConsumer(t, s, "forward", Func(func(_ context.Context, batch []meta.Event) error {
			h.note(name, batch)
			return nil
		}), WithBatch(2), WithPoll(time.Millisecond), WithLease(lease), withClock(clock.Now), WithOwner(name)))
	}
	// While the lease holds, the survivors handle nothing.
	for _, c := range survivors {
		if n, err := c.Step(t.Context()); n != 0 || err != nil {
			t.Fatalf("a survivor stepped under the victim's lease: %d, %v", n, err)
		}
	}
	for _, c := range survivors {
		runConsumer(t, c)
	}
	clock.Move(lease - time.Second)
	s.WaitMore(t, 20) // the survivors poll, in vain
	if seqs, _ := h.snapshot(); len(seqs) != 0 {
		t.Fatalf("handled %v before the lease expired", seqs)
	}
	clock.Move(2 * time.Second) // the lease expires
	all := seqsOf(t, s)
	eventually.True(t, "the survivors to handle everything", func() bool {
		cur, err := Cursor(t.Context(), s, "forward")
		return err == nil && cur == all[len(all)-1]
	})
	if seqs, _ := h.snapshot(); !slices.Equal(seqs, all) {
		t.Errorf("the survivors handled %v, want %v: the victim's batch again, then the rest, once each", seqs, all)
	}
	appendEvents(t, s, "a/6")
	all = seqsOf(t, s)
	eventually.True(t, "a later event", func() bool {
		cur, err := Cursor(t.Context(), s, "forward")
		return err == nil && cur == all[len(all)-1]
	})
	// The victim comes back from the dead with its batch done: its lease
	// is gone, so it moves nothing.
	close(unstick)
	if err := <-victimDone; !errors.Is(err, ErrLeaseLost) {
		t.Errorf("the victim's late finish: %v, want ErrLeaseLost", err)
	}
	if cur, _ := Cursor(t.Context(), s, "forward"); cur != all[len(all)-1] {
		t.Errorf("cursor %d after the victim's late finish, want %d", cur, all[len(all)-1])
	}
	if seqs, _ := h.snapshot(); !slices.Equal(seqs, all) {
		t.Errorf("handled %v, want %v", seqs, all)
	}
}

func TestFuncConsumerLeaseRenewed(t *testing.T) {
	teststores.Each(t, testFuncConsumerLeaseRenewed)
}

// testFuncConsumerLeaseRenewed: an instance handling a batch for many
// leases keeps its lease with heartbeats, so no other instance takes the
// batch; then it moves the cursor and releases the lease.
func testFuncConsumerLeaseRenewed(t *testing.T, open teststores.Opener) {
	s := open(t)
	clock := newFakeClock()
	const lease = 150 * time.Millisecond // heartbeats every 50 ms, of the machine's time
	appendEvents(t, s, "a/1")
	entered, release := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	handler := Func(func(ctx context.Context, batch []meta.Event) error {
		if calls.Add(1) > 1 {
			return errors.New("handed twice")
		}
		close(entered)
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	holder := newTestConsumer(t, s, "slow", handler, WithLease(lease), withClock(clock.Now), WithOwner("holder"))
	other := newTestConsumer(t, s, "slow", handler, WithLease(lease), withClock(clock.Now), WithOwner("other"))
	done := make(chan error, 1)
	go func() { _, err := holder.Step(t.Context()); done <- err }()
	<-entered
	for range 9 { // six leases of time, in steps each answered by a heartbeat
		clock.Move(lease * 2 / 3)
		want := clock.Now().Add(lease)
		eventually.True(t, "a heartbeat", func() bool {
			var l consumerLease
			_ = s.View(t.Context(), func(tx meta.Tx) error { l, _ = leases.In(tx).Get("slow"); return nil })
			return !l.Until.Before(want)
		})
		if n, err := other.Step(t.Context()); n != 0 || err != nil {
			t.Fatalf("the other instance took the batch of a live holder: %d, %v", n, err)
		}
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if cur, _ := Cursor(t.Context(), s, "slow"); cur != seqsOf(t, s)[0] {
		t.Errorf("cursor %d", cur)
	}
	if err := s.View(t.Context(), func(tx meta.Tx) error {
		_, err := leases.In(tx).Get("slow")
		return err
	}); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("the lease was not released: %v", err)
	}
}

func TestIdleConsumersDoNotWrite(t *testing.T) {
	teststores.Each(t, testIdleConsumersDoNotWrite)
}

// testIdleConsumersDoNotWrite: three instances of a Func and of a TxFunc
// consumer, polling fast, write nothing once they have handled the log,
// however long they poll.
func testIdleConsumersDoNotWrite(t *testing.T, open teststores.Opener) {
	s := txcount.New(open(t))
	appendEvents(t, s, "a/1", "a/2")
	for i := range 3 {
		owner := WithOwner("instance-" + strconv.Itoa(i))
		runConsumer(t, newTestConsumer(t, s, "func", Func(func(context.Context, []meta.Event) error { return nil }),
			WithPoll(time.Millisecond), owner))
		runConsumer(t, newTestConsumer(t, s, "tx", TxFunc(func(context.Context, meta.Tx, []meta.Event) error { return nil }),
			WithPoll(time.Millisecond), owner))
	}
	last := seqsOf(t, s)[1]
	eventually.True(t, "both consumers at the end of the log", func() bool {
		a, _ := Cursor(t.Context(), s, "func")
		b, _ := Cursor(t.Context(), s, "tx")
		return a == last && b == last
	})
	before := s.Updates()
	s.WaitMore(t, 300) // hundreds of polls
	if n := s.Updates() - before; n != 0 {
		t.Errorf("%d writes by idle consumers", n)
	}
}

func TestTxFuncConsumerTurns(t *testing.T) {
	teststores.Each(t, testTxFuncConsumerTurns)
}

// testTxFuncConsumerTurns: the instance that handled a TxFunc consumer's
// batch keeps the consumer while its lease lives: the others, stepping,
// neither handle nor write anything (they used to write the one cursor
// row each, all but one failing to serialize); once the holder is gone
// for a lease, another takes over, and a holder whose Run stops hands the
// consumer on at once.
func testTxFuncConsumerTurns(t *testing.T, open teststores.Opener) {
	s := txcount.New(open(t))
	clock := newFakeClock()
	const lease = time.Minute // of the fake clock
	var h handled
	var instances []*Consumer
	for i := range 3 {
		name := "instance-" + strconv.Itoa(i)
		instances = append(instances, newTestConsumer(t, s, "audit", TxFunc(func(_ context.Context, _ meta.Tx, batch []meta.Event) error {
			h.note(name, batch)
			return nil
		}), WithBatch(10), WithLease(lease), withClock(clock.Now), WithOwner(name)))
	}
	step := func(c *Consumer) int {
		t.Helper()
		n, err := c.Step(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	appendEvents(t, s, "a/1", "a/2")
	if n := step(instances[0]); n != 2 {
		t.Fatalf("the first instance handled %d, want 2", n)
	}
	appendEvents(t, s, "a/3")
	before := s.Updates()
	for _, c := range instances[1:] {
		if n := step(c); n != 0 {
			t.Errorf("another instance handled %d under the holder's lease", n)
		}
	}
	if n := s.Updates() - before; n != 0 {
		t.Errorf("the other instances wrote %d times under the holder's lease", n)
	}
	clock.Move(lease / 2)
	if n := step(instances[0]); n != 1 {
		t.Fatalf("the holder handled %d, want 1", n)
	}
	// Renewed with that batch: half a lease on, the holder still has it.
	clock.Move(lease * 2 / 3)
	appendEvents(t, s, "a/4")
	if n := step(instances[1]); n != 0 {
		t.Errorf("another instance handled %d under the renewed lease", n)
	}
	clock.Move(lease) // the holder is gone
	if n := step(instances[1]); n != 1 {
		t.Fatalf("the taker handled %d, want 1", n)
	}
	// A holder stopped by its Run's context hands the consumer on.
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- instances[1].Run(ctx) }()
	stop()
	<-done
	appendEvents(t, s, "a/5")
	if n := step(instances[2]); n != 1 {
		t.Errorf("after the holder stopped, another instance handled %d, want 1", n)
	}
	seqs, by := h.snapshot()
	if all := seqsOf(t, s); !slices.Equal(seqs, all) {
		t.Errorf("handled %v, want each of %v once, in order", seqs, all)
	}
	want := []string{"instance-0", "instance-0", "instance-0", "instance-1", "instance-2"}
	if !slices.Equal(by, want) {
		t.Errorf("handled by %v, want %v", by, want)
	}
}

// renewalGate holds the first Update begun after it is armed (a lease
// renewal, when armed by a Func) until that Update's context is done, so
// a test can end a Func while its heartbeat's renewal is in flight.
type renewalGate struct {
	meta.Store
	armed    atomic.Bool
	renewing chan struct{}
}

func (g *renewalGate) Update(ctx context.Context, fn func(meta.Tx) error) error {
	if g.armed.CompareAndSwap(true, false) {
		close(g.renewing)
		<-ctx.Done()
	}
	return g.Store.Update(ctx, fn)
}

func TestFuncConsumerDoneDuringRenewal(t *testing.T) {
	teststores.Each(t, testFuncConsumerDoneDuringRenewal)
}

// testFuncConsumerDoneDuringRenewal: a Func that returns while its lease's
// renewal is under way has handled its batch: the renewal, cut short by
// the Func's end, does not count as a lost lease (it used to, and the
// batch was handled again).
func testFuncConsumerDoneDuringRenewal(t *testing.T, open teststores.Opener) {
	g := &renewalGate{Store: open(t), renewing: make(chan struct{})}
	appendEvents(t, g, "a/1")
	c := newTestConsumer(t, g, "hook", Func(func(context.Context, []meta.Event) error {
		g.armed.Store(true)
		<-g.renewing // the heartbeat's renewal has begun
		return nil
	}), WithLease(3*time.Millisecond))
	if n, err := c.Step(t.Context()); n != 1 || err != nil {
		t.Fatalf("Step = %d, %v; want the batch handled", n, err)
	}
	if cur, _ := Cursor(t.Context(), g, "hook"); cur != seqsOf(t, g)[0] {
		t.Errorf("cursor %d, want past the batch", cur)
	}
}
