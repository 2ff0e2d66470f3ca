package postgres_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/internal/testpg"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/postgres"
)

// tripCounter is a pgx tracer counting round trips: queries, and batches
// (sent as one pipeline each).
type tripCounter struct {
	mu    sync.Mutex
	trips int
}

func (c *tripCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.trips
}

func (c *tripCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.mu.Lock()
	c.trips++
	c.mu.Unlock()
	return ctx
}

func (c *tripCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (c *tripCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return c.TraceQueryStart(ctx, nil, pgx.TraceQueryStartData{})
}

func (c *tripCounter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (c *tripCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// TestViewCostsOneRoundTripPerStatement checks that a View's COMMIT rides
// with its connection's next transaction, and that an Update's writes
// that cannot fail but by the server's doing ride with its COMMIT.
func TestViewCostsOneRoundTripPerStatement(t *testing.T) {
	trips := &tripCounter{}
	s := testpg.Open(t, postgres.WithTracer(trips), postgres.WithParkLinger(time.Hour))
	put := func(tx meta.Tx) error { return tx.Records("k").Put("a", []byte("1")) }
	get := func(tx meta.Tx) error { _, err := tx.Records("k").Get("a"); return err }
	for _, step := range []struct {
		name  string
		run   func() error
		trips int
	}{
		{"an Update of one write", func() error { return s.Update(t.Context(), put) }, 1},
		{"a View of one read", func() error { return s.View(t.Context(), get) }, 1},
		{"another View of one read", func() error { return s.View(t.Context(), get) }, 1},
		{"a View of two reads", func() error {
			return s.View(t.Context(), func(tx meta.Tx) error { return errors.Join(get(tx), get(tx)) })
		}, 2},
		{"an Update after a View", func() error { return s.Update(t.Context(), put) }, 1},
		{"an Update of a read and a write", func() error {
			return s.Update(t.Context(), func(tx meta.Tx) error { return errors.Join(get(tx), put(tx)) })
		}, 2},
	} {
		// Once to prepare the statements, once to count.
		for i := range 2 {
			before := trips.count()
			if err := step.run(); err != nil {
				t.Fatalf("%s: %v", step.name, err)
			}
			if n := trips.count() - before; i == 1 && n != step.trips {
				t.Errorf("%s: %d round trips, want %d", step.name, n, step.trips)
			}
		}
	}
}

// TestParkedViewEnds checks that the store ends a parked View's
// transaction itself once it has lingered, so that no connection stays
// idle in a transaction.
func TestParkedViewEnds(t *testing.T) {
	dsn := testpg.Database(t)
	s, err := postgres.Open(t.Context(), dsn, postgres.WithParkLinger(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.View(t.Context(), func(tx meta.Tx) error { _, err := tx.Records("k").Get("a"); return err }); !errors.Is(err, meta.ErrNotFound) {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	eventually.True(t, "no connection idle in a transaction", func() bool {
		var n int
		err := conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND state LIKE 'idle in transaction%'`).Scan(&n)
		return err == nil && n == 0
	})
}

// TestParkedConnectionServesAWaiter checks that a transaction waiting for
// a connection of an exhausted pool gets the one a View parks, rather
// than wait for the park to end.
func TestParkedConnectionServesAWaiter(t *testing.T) {
	s := testpg.Open(t, postgres.WithMaxConns(1), postgres.WithParkLinger(time.Hour), postgres.WithAcquireTimeout(time.Hour))
	read := func(tx meta.Tx) error {
		_, err := tx.Records("k").Get("a")
		if errors.Is(err, meta.ErrNotFound) {
			return nil
		}
		return err
	}
	inside, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- s.View(t.Context(), func(tx meta.Tx) error {
			err := read(tx)
			close(inside)
			<-release
			return err
		})
	}()
	<-inside
	second := make(chan error, 1)
	go func() {
		second <- s.Update(t.Context(), func(tx meta.Tx) error { return tx.Records("k").Put("a", nil) })
	}()
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-second; err != nil {
		t.Fatal(err)
	}
}

// TestPoolWaiterIsHandedAParkedConnection checks that a transaction that
// found the pool free, but lost its last connection to another
// transaction before it could take it, is handed that connection when
// the other's View parks it, rather than wait on the pool while the
// connection stays parked. Under a steady stream of reads, parked
// connections pass from View to View and never return to the pool, so
// such a transaction used to wait out the acquire timeout and fail.
func TestPoolWaiterIsHandedAParkedConnection(t *testing.T) {
	atPool, proceed := make(chan struct{}), make(chan struct{})
	var once sync.Once
	hold := func() {
		first := false
		once.Do(func() { first = true })
		if first {
			close(atPool)
			<-proceed
		}
	}
	// The pool's one connection is free when the late transaction looks;
	// its wait on the pool is held until another View has used and parked
	// the connection, which then lingers for an hour.
	s := testpg.Open(t, postgres.WithMaxConns(1), postgres.WithParkLinger(time.Hour),
		postgres.WithAcquireTimeout(30*time.Second), postgres.WithBeforePoolAcquire(hold))
	read := func(tx meta.Tx) error {
		_, err := tx.Records("k").Get("a")
		if errors.Is(err, meta.ErrNotFound) {
			return nil
		}
		return err
	}
	late := make(chan error, 1)
	go func() { late <- s.View(t.Context(), read) }()
	<-atPool
	if err := s.View(t.Context(), read); err != nil {
		t.Fatal(err)
	}
	close(proceed)
	if err := <-late; err != nil {
		t.Fatalf("the transaction that waited on the pool: %v", err)
	}
}
