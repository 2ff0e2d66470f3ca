package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/internal/testpg"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/metatest"
	"github.com/berthreg/berth/meta/postgres"
)

// TestOpenConcurrently opens one fresh database from many goroutines at
// once, as instances starting together would: one migrates under the
// advisory lock, the others wait and find the schema done.
func TestOpenConcurrently(t *testing.T) {
	const n = 8
	dsn := testpg.Database(t)
	stores := make([]*postgres.Store, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			stores[i], errs[i] = postgres.Open(t.Context(), dsn)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: %v", i, err)
			continue
		}
		defer stores[i].Close()
	}
	if t.Failed() {
		return
	}
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	var version int
	var dirty bool
	if err := conn.QueryRow(t.Context(), `SELECT version, dirty FROM `+postgres.MigrationsTable).Scan(&version, &dirty); err != nil {
		t.Fatal(err)
	}
	if version != postgres.SchemaVersion || dirty {
		t.Errorf("schema version %d (dirty %v), want %d", version, dirty, postgres.SchemaVersion)
	}
	// Every store works on it.
	for i, s := range stores {
		if err := s.Update(t.Context(), func(tx meta.Tx) error {
			_, _, err := tx.Repositories().Ensure(fmt.Sprint("r", i))
			return err
		}); err != nil {
			t.Errorf("store %d: %v", i, err)
		}
	}
}

// conflict runs two Updates that each read a counter record and write it
// plus one, both reading before either writes, so that one of them fails
// to serialize. It returns their errors and how many times their
// functions ran.
func conflict(t *testing.T, s meta.Store, ignoreErrors bool) (errs [2]error, runs int64) {
	t.Helper()
	counter := func(tx meta.Tx) (int, error) {
		v, err := tx.Records("counters").Get("c")
		if errors.Is(err, meta.ErrNotFound) {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		return strconv.Atoi(string(v))
	}
	var read sync.WaitGroup
	read.Add(2)
	var first [2]sync.Once
	var ran atomic.Int64
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			errs[i] = s.Update(t.Context(), func(tx meta.Tx) error {
				ran.Add(1)
				n, err := counter(tx)
				if err != nil {
					return err
				}
				first[i].Do(func() { read.Done(); read.Wait() }) // both have read
				err = tx.Records("counters").Put("c", []byte(strconv.Itoa(n+1)))
				if ignoreErrors {
					return nil
				}
				return err
			})
		})
	}
	wg.Wait()
	return errs, ran.Load()
}

// TestUpdateRetriesSerializationFailures checks that two conflicting
// increments both land: PostgreSQL fails one, and Update runs it again.
func TestUpdateRetriesSerializationFailures(t *testing.T) {
	s := testpg.Open(t)
	errs, runs := conflict(t, s, false)
	for i, err := range errs {
		if err != nil {
			t.Errorf("Update %d: %v", i, err)
		}
	}
	if runs < 3 {
		t.Errorf("the functions ran %d times: want a retry", runs)
	}
	if st := s.Stats(); st.Retries != uint64(runs-2) || st.Exhausted != 0 {
		t.Errorf("Stats() = %+v after %d runs of 2 Updates, want %d Retries", st, runs, runs-2)
	}
	if err := s.View(t.Context(), func(tx meta.Tx) error {
		v, err := tx.Records("counters").Get("c")
		if string(v) != "2" {
			t.Errorf("counter = %q after two increments, want 2", v)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// TestUpdateRetryCap checks that with no retry budget the failure is
// returned at once, wrapping meta.ErrUnavailable (the caller answers 503
// and the client tries again later, not 500) while still naming the
// serialization failure; that the store counts it; and that a function
// that ignores the failed statement's error does not make Update report
// success.
func TestUpdateRetryCap(t *testing.T) {
	for _, ignore := range []bool{false, true} {
		t.Run(fmt.Sprintf("ignoring errors %v", ignore), func(t *testing.T) {
			s := testpg.Open(t, postgres.WithRetryBudget(0))
			errs, runs := conflict(t, s, ignore)
			if runs != 2 {
				t.Errorf("the functions ran %d times, want 2 (no retry)", runs)
			}
			failed := 0
			for _, err := range errs {
				if err == nil {
					continue
				}
				failed++
				var pe *pgconn.PgError
				if !errors.As(err, &pe) || pe.Code != "40001" {
					t.Errorf("Update: %v, want a serialization failure", err)
				}
				if !errors.Is(err, meta.ErrUnavailable) {
					t.Errorf("exhausted retries do not wrap meta.ErrUnavailable: %v", err)
				}
			}
			if failed != 1 {
				t.Errorf("%d Updates failed (%v), want 1", failed, errs)
			}
			if st := s.Stats(); st.Exhausted != 1 || st.Retries != 0 || st.Updates != 2 {
				t.Errorf("Stats() = %+v, want 2 Updates, 1 Exhausted, no Retries", st)
			}
		})
	}
}

// skewed opens a store with opts on a fresh database and returns it with
// an Update function that conflicts every time it runs: it reads record
// a, another connection then commits a serializable transaction that
// reads b and writes a, and the function writes b (a write skew, which
// PostgreSQL fails). each is called at the start of every run.
func skewed(t *testing.T, each func(), opts ...postgres.Option) (*postgres.Store, func(meta.Tx) error) {
	t.Helper()
	dsn := testpg.Database(t)
	s, err := postgres.Open(t.Context(), dsn, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	other, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Close(context.Background()) })
	if err := s.Update(t.Context(), func(tx meta.Tx) error {
		return errors.Join(tx.Records("k").Put("a", []byte("0")), tx.Records("k").Put("b", []byte("0")))
	}); err != nil {
		t.Fatal(err)
	}
	return s, func(tx meta.Tx) error {
		each()
		if _, err := tx.Records("k").Get("a"); err != nil {
			return err
		}
		if err := pgx.BeginTxFunc(t.Context(), other, pgx.TxOptions{IsoLevel: pgx.Serializable}, func(o pgx.Tx) error {
			if _, err := o.Exec(t.Context(), `SELECT value FROM records WHERE kind = 'k' AND key = 'b'`); err != nil {
				return err
			}
			_, err := o.Exec(t.Context(), `UPDATE records SET value = 'x' WHERE kind = 'k' AND key = 'a'`)
			return err
		}); err != nil {
			t.Errorf("the other writer: %v", err)
		}
		return tx.Records("k").Put("b", []byte("1"))
	}
}

// TestUpdateRetryBudgetSpent checks the budget: an Update that conflicts
// every time it runs is run again until its budget is spent, and then
// returns meta.ErrUnavailable, still naming the serialization failure.
func TestUpdateRetryBudgetSpent(t *testing.T) {
	runs := 0
	s, fn := skewed(t, func() { runs++ }, postgres.WithRetryBudget(50*time.Millisecond))
	err := s.Update(t.Context(), fn)
	var pe *pgconn.PgError
	if !errors.Is(err, meta.ErrUnavailable) || !errors.As(err, &pe) || pe.Code != "40001" {
		t.Errorf("Update that always conflicts: %v, want meta.ErrUnavailable wrapping a serialization failure", err)
	}
	if runs < 3 {
		t.Errorf("the function ran %d times: want retries within the budget", runs)
	}
	if st := s.Stats(); st.Exhausted != 1 || st.Retries != uint64(runs-1) {
		t.Errorf("Stats() = %+v after %d runs, want 1 Exhausted and %d Retries", st, runs, runs-1)
	}
}

// TestUpdateRetriesEndWithContext checks that a done context ends the
// retries of an Update with a budget to spare, with the context's error.
func TestUpdateRetriesEndWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	runs := 0
	s, fn := skewed(t, func() {
		if runs++; runs == 3 {
			cancel()
		}
	}, postgres.WithRetryBudget(time.Hour))
	err := s.Update(ctx, fn)
	if !errors.Is(err, context.Canceled) || errors.Is(err, meta.ErrUnavailable) {
		t.Errorf("Update cancelled while retrying: %v, want context.Canceled", err)
	}
	if runs != 3 {
		t.Errorf("the function ran %d times, want 3 (cancelled in the third)", runs)
	}
}

// TestUnavailable checks meta.ErrUnavailable for a server that refuses
// connections and for a pool that has none to spare.
func TestUnavailable(t *testing.T) {
	testpg.DSN(t)
	t.Run("refused", func(t *testing.T) {
		_, err := postgres.Open(t.Context(), "postgres://berth@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=5")
		if !errors.Is(err, meta.ErrUnavailable) {
			t.Errorf("Open on a closed port: %v, want meta.ErrUnavailable", err)
		}
	})
	t.Run("pool exhausted", func(t *testing.T) {
		s := testpg.Open(t, postgres.WithMaxConns(1), postgres.WithAcquireTimeout(100*time.Millisecond))
		// A View takes a connection with its first statement.
		read := func(tx meta.Tx) error {
			if _, err := tx.Records("k").Get("a"); !errors.Is(err, meta.ErrNotFound) {
				return err
			}
			return nil
		}
		inside, release := make(chan struct{}), make(chan struct{})
		done := make(chan error, 1)
		go func() {
			done <- s.View(t.Context(), func(tx meta.Tx) error {
				err := read(tx)
				close(inside)
				<-release
				return err
			})
		}()
		<-inside
		err := s.View(t.Context(), read)
		close(release)
		if !errors.Is(err, meta.ErrUnavailable) {
			t.Errorf("View with the only connection taken: %v, want meta.ErrUnavailable", err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
	t.Run("statement timeout", func(t *testing.T) {
		s := testpg.Open(t, postgres.WithStatementTimeout(200*time.Millisecond))
		put := func(tx meta.Tx) error { return tx.Records("k").Put("row", []byte("v")) }
		if err := s.Update(t.Context(), put); err != nil {
			t.Fatal(err)
		}
		locked, release := make(chan struct{}), make(chan struct{})
		done := make(chan error, 1)
		var once sync.Once
		go func() {
			done <- s.Update(t.Context(), func(tx meta.Tx) error {
				if err := put(tx); err != nil {
					return err
				}
				// The read sends the deferred write, which holds the
				// row's lock until released.
				if _, err := tx.Records("k").Get("row"); err != nil {
					return err
				}
				once.Do(func() { close(locked); <-release })
				return nil
			})
		}()
		<-locked
		// This write waits for the row's lock until its statement times out.
		err := s.Update(t.Context(), put)
		close(release)
		if !errors.Is(err, meta.ErrUnavailable) {
			t.Errorf("Update stuck behind a lock past the statement timeout: %v, want meta.ErrUnavailable", err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
	t.Run("cancelled is not unavailable", func(t *testing.T) {
		s := testpg.Open(t)
		ctx, cancel := context.WithCancel(t.Context())
		err := s.Update(ctx, func(tx meta.Tx) error {
			cancel()
			_, _, err := tx.Repositories().Ensure("r")
			return err
		})
		if !errors.Is(err, context.Canceled) || errors.Is(err, meta.ErrUnavailable) {
			t.Errorf("Update cancelled in flight: %v, want context.Canceled only", err)
		}
		// The store goes on.
		if err := s.Update(t.Context(), func(tx meta.Tx) error { _, _, err := tx.Repositories().Ensure("r"); return err }); err != nil {
			t.Errorf("Update after a cancelled one: %v", err)
		}
	})
}

// TestCollectionBeginConflictsWithOlderWrites checks the race the touches
// close: a push whose snapshot predates a collection's Begin, and which
// commits after it, must record its touches (here: be run again, seeing
// the collection active).
func TestCollectionBeginConflictsWithOlderWrites(t *testing.T) {
	s := testpg.Open(t)
	m := meta.Manifest{Digest: digest.Digest("sha256:" + strings.Repeat("a", 64)), MediaType: "application/vnd.oci.image.manifest.v1+json",
		Layers: []meta.Descriptor{{Digest: digest.Digest("sha256:" + strings.Repeat("b", 64))}}}
	if err := s.Update(t.Context(), func(tx meta.Tx) error { _, _, err := tx.Repositories().Ensure("r"); return err }); err != nil {
		t.Fatal(err)
	}
	read, begun := make(chan struct{}), make(chan struct{})
	var once sync.Once
	var runs atomic.Int32
	done := make(chan error, 1)
	go func() {
		done <- s.Update(t.Context(), func(tx meta.Tx) error {
			runs.Add(1)
			if _, err := tx.Repositories().Get("r"); err != nil { // the snapshot is taken
				return err
			}
			once.Do(func() { close(read); <-begun })
			return tx.Manifests().Put("r", m)
		})
	}()
	<-read
	if err := s.Update(t.Context(), func(tx meta.Tx) error { return tx.Collector().Collection().Begin(metatest.At(0)) }); err != nil {
		t.Fatalf("Begin: %v", err)
	}
	close(begun)
	if err := <-done; err != nil {
		t.Fatalf("push: %v", err)
	}
	if err := s.View(t.Context(), func(tx meta.Tx) error {
		for _, d := range []string{string(m.Digest), string(m.Layers[0].Digest)} {
			touched, err := tx.Collector().Collection().Touched(digest.Digest(d))
			if err != nil {
				return err
			}
			if !touched {
				t.Errorf("%s not touched by a push that committed after Begin (its function ran %d times)", d, runs.Load())
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestMethodErrorsKeepTxUsable checks errors this backend adds (text a
// column cannot hold, a duplicate job key): they change nothing and the
// transaction goes on and commits.
func TestMethodErrorsKeepTxUsable(t *testing.T) {
	s := testpg.Open(t)
	m := meta.Manifest{Digest: digest.Digest("sha256:" + strings.Repeat("c", 64)), MediaType: "application/vnd.oci.image.manifest.v1+json"}
	if err := s.Update(t.Context(), func(tx meta.Tx) error {
		if _, _, err := tx.Repositories().Ensure("bad\x00name"); err == nil {
			t.Error("Ensure of a name with a NUL byte succeeded")
		}
		if _, _, err := tx.Repositories().Ensure("r"); err != nil {
			return err
		}
		if err := tx.Manifests().Put("r", m); err != nil {
			return err
		}
		if err := tx.Tags().Put("r", "bad\xfftag", m.Digest); err == nil {
			t.Error("Put of a tag that is not UTF-8 succeeded")
		}
		if _, err := tx.Tags().Get("r", "bad\xfftag"); !errors.Is(err, meta.ErrNotFound) {
			t.Errorf("Get of a tag that is not UTF-8: %v, want meta.ErrNotFound", err)
		}
		if err := tx.Records("kind").Put("k\x00", []byte("v")); err == nil {
			t.Error("Put of a record key with a NUL byte succeeded")
		}
		if _, err := tx.Jobs().Enqueue(meta.Job{Kind: "k", Key: "once"}, metatest.At(0)); err != nil {
			return err
		}
		if _, err := tx.Jobs().Enqueue(meta.Job{Kind: "k", Key: "once"}, metatest.At(0)); !errors.Is(err, meta.ErrDuplicate) {
			t.Errorf("second Enqueue with the key: %v, want meta.ErrDuplicate", err)
		}
		return tx.Tags().Put("r", "v1", m.Digest)
	}); err != nil {
		t.Fatalf("Update: %v", err)
	}
	if err := s.View(t.Context(), func(tx meta.Tx) error {
		tags, err := tx.Tags().List("r", "", 0)
		if !slices.Equal(tags, []string{"v1"}) {
			t.Errorf("tags %q, want [v1]", tags)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// TestListAfterAnyString pages with "after" strings a text parameter
// cannot hold (a client's paging marker is anything): the page is what
// byte order says, and the transaction goes on.
func TestListAfterAnyString(t *testing.T) {
	s := testpg.Open(t)
	names := []string{"a", "a\x01", "ab", "a\u00e9", "a\u00e9x", "a\U0001F600", "b", "\u00ff", "\uffff", "\U0010FFFF"}
	if err := s.Update(t.Context(), func(tx meta.Tx) error {
		for _, n := range names {
			if _, _, err := tx.Repositories().Ensure(n); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	afters := []string{"", "a", "a\x00", "a\x00z", "a\xc3", "a\xc3\xa9", "a\xc3\xa9\xff", "a\xff", "a\xf0\x9f", "\xc3", "\xef\xbf\xbf\xff",
		"\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf\x00", "\xf4\x90", "\xff", "\xed\xa0\x80", "z"}
	if err := s.View(t.Context(), func(tx meta.Tx) error {
		for _, after := range afters {
			got, err := tx.Repositories().List(after, 0)
			if err != nil {
				return fmt.Errorf("List(%q): %w", after, err)
			}
			var want []string
			for _, n := range names {
				if n > after {
					want = append(want, n)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("List(%q) = %q, want %q", after, got, want)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
