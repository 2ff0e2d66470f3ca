package postgres_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/internal/testpg"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/metatest"
	"github.com/berthreg/berth/meta/postgres"
)

// clock is a settable time for the read cache's entries.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// cacheFixture is a database with repository "app" holding manifests
// one and two, tag "v1" on one; here is a store with a read cache on
// clock whose drop log is polled only by poll, other a store on the same
// database without one (another instance), counting what here sends to
// the server.
type cacheFixture struct {
	t           *testing.T
	here, other *postgres.Store
	clock       *clock
	trips       *tripCounter
	one, two    meta.Manifest
}

const cacheInterval = time.Second

func newCacheFixture(t *testing.T) *cacheFixture {
	t.Helper()
	dsn := testpg.Database(t)
	f := &cacheFixture{t: t, clock: &clock{now: time.Unix(1e9, 0)}, trips: &tripCounter{}}
	var err error
	f.here, err = postgres.Open(t.Context(), dsn, postgres.WithReadCache(cacheInterval), postgres.WithClock(f.clock.Now),
		postgres.WithTracer(f.trips), postgres.WithParkLinger(time.Hour), postgres.WithManualDropPolls())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.here.Close() })
	if f.other, err = postgres.Open(t.Context(), dsn); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.other.Close() })
	f.one = meta.Manifest{Digest: digest.FromString("one"), MediaType: "application/vnd.oci.image.manifest.v1+json", Size: 3}
	f.two = meta.Manifest{Digest: digest.FromString("two"), MediaType: "application/vnd.oci.image.manifest.v1+json", Size: 3}
	err = f.other.Update(t.Context(), func(tx meta.Tx) error {
		if _, _, err := tx.Repositories().Ensure("app"); err != nil {
			return err
		}
		for _, m := range []meta.Manifest{f.one, f.two} {
			if err := tx.Manifests().Put("app", m); err != nil {
				return err
			}
		}
		return tx.Tags().Put("app", "v1", f.one.Digest)
	})
	if err != nil {
		t.Fatal(err)
	}
	f.poll()
	return f
}

// poll reads here's drop log once.
func (f *cacheFixture) poll() {
	f.t.Helper()
	if err := postgres.PollDrops(f.here); err != nil {
		f.t.Fatal(err)
	}
}

// trip resolves v1 on here and returns what it resolved to and the
// round trips it sent.
func (f *cacheFixture) trip() (digest.Digest, int) {
	f.t.Helper()
	before := f.trips.count()
	d := resolve(f.t, f.here)
	return d, f.trips.count() - before
}

// wantCached checks that v1 resolves to want on here without a round
// trip.
func (f *cacheFixture) wantCached(step string, want digest.Digest) {
	f.t.Helper()
	if d, n := f.trip(); d != want || n != 0 {
		f.t.Errorf("%s: v1 = %s with %d round trips, want %s from the cache", step, d, n, want)
	}
}

// wantRead checks that v1 resolves to want on here, read from the
// database.
func (f *cacheFixture) wantRead(step string, want digest.Digest) {
	f.t.Helper()
	if d, n := f.trip(); d != want || n == 0 {
		f.t.Errorf("%s: v1 = %s with %d round trips, want %s read from the database", step, d, n, want)
	}
}

// resolve reads tag v1 and its manifest in one View of s accepting
// cached reads, as a registry does on a pull, and checks that they agree.
func resolve(t *testing.T, s meta.Store) digest.Digest {
	t.Helper()
	return resolveIn(t, s, meta.AllowCachedReads(t.Context()))
}

// resolveIn is resolve in a View with ctx.
func resolveIn(t *testing.T, s meta.Store, ctx context.Context) digest.Digest {
	t.Helper()
	var d digest.Digest
	err := s.View(ctx, func(tx meta.Tx) error {
		var err error
		if d, err = tx.Tags().Get("app", "v1"); err != nil {
			return err
		}
		m, err := tx.Manifests().Get("app", d)
		if err == nil && m.Digest != d {
			t.Errorf("tag v1 names %s, its manifest is %s", d, m.Digest)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// update runs fn on s.
func update(t *testing.T, s meta.Store, fn func(tx meta.Tx) error) {
	t.Helper()
	if err := s.Update(t.Context(), fn); err != nil {
		t.Fatal(err)
	}
}

// move points v1 at d through s.
func move(t *testing.T, s meta.Store, d digest.Digest) {
	t.Helper()
	update(t, s, func(tx meta.Tx) error { return tx.Tags().Put("app", "v1", d) })
}

// notFound checks that v1 is not found on here, cached reads allowed.
func (f *cacheFixture) notFound(step string) {
	f.t.Helper()
	err := f.here.View(meta.AllowCachedReads(f.t.Context()), func(tx meta.Tx) error { _, err := tx.Tags().Get("app", "v1"); return err })
	if !errors.Is(err, meta.ErrNotFound) {
		f.t.Errorf("%s: v1: %v, want not found", step, err)
	}
}

// TestReadCacheBound checks the cache's promise: a tag read before costs
// no round trip for as long as the drop log is read and names nothing of
// its repository, however much time passes; another instance's move is
// seen at the next poll, writes that cannot make an entry stale do not
// drop it; this store's own change is seen at once; and a cache whose
// drop log was not read for two intervals answers nothing.
func TestReadCacheBound(t *testing.T) {
	f := newCacheFixture(t)
	f.wantRead("first resolve", f.one.Digest)
	f.wantCached("second resolve", f.one.Digest)
	for range 5 {
		f.clock.Add(cacheInterval)
		f.poll()
	}
	f.wantCached("five polls later", f.one.Digest)

	// Writes by another instance that change no tag's answer: a new tag,
	// v1 put again on the manifest it names, a manifest put again.
	update(t, f.other, func(tx meta.Tx) error {
		if err := tx.Tags().Put("app", "v2", f.two.Digest); err != nil {
			return err
		}
		if err := tx.Manifests().Put("app", f.two); err != nil {
			return err
		}
		return tx.Tags().Put("app", "v1", f.one.Digest)
	})
	f.poll()
	f.wantCached("after another instance's writes that move no tag", f.one.Digest)

	move(t, f.other, f.two.Digest)
	if d := resolveIn(t, f.here, t.Context()); d != f.two.Digest {
		t.Fatalf("a View that did not ask for cached reads: v1 = %s, want two", d)
	}
	f.poll()
	f.wantRead("the poll after another instance's move", f.two.Digest)
	f.wantCached("after reading the move", f.two.Digest)

	move(t, f.here, f.one.Digest)
	f.wantRead("after this store's own move", f.one.Digest)

	// Without a poll for two intervals the cache answers nothing; the
	// next poll brings it back.
	f.clock.Add(2 * cacheInterval)
	f.wantRead("two intervals after the last poll", f.one.Digest)
	f.wantRead("still two intervals after the last poll", f.one.Digest)
	f.poll()
	f.wantRead("after the poll", f.one.Digest)
	f.wantCached("after the poll, again", f.one.Digest)

	// Deleting the manifest (and so its tag) here: not found at once.
	update(t, f.here, func(tx meta.Tx) error { return tx.Manifests().Delete("app", f.one.Digest) })
	f.notFound("after its manifest was deleted here")
}

// TestReadCacheSeesDeletions checks that each way another instance makes
// a cached tag vanish reaches the cache through the drop log.
func TestReadCacheSeesDeletions(t *testing.T) {
	for _, c := range []struct {
		name string
		fn   func(f *cacheFixture) func(tx meta.Tx) error
	}{
		{"tag deleted", func(f *cacheFixture) func(tx meta.Tx) error {
			return func(tx meta.Tx) error { return tx.Tags().Delete("app", "v1") }
		}},
		{"manifest deleted", func(f *cacheFixture) func(tx meta.Tx) error {
			return func(tx meta.Tx) error { return tx.Manifests().Delete("app", f.one.Digest) }
		}},
		{"repository deleted", func(f *cacheFixture) func(tx meta.Tx) error {
			return func(tx meta.Tx) error { return tx.Repositories().Delete("app") }
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newCacheFixture(t)
			f.wantRead("first resolve", f.one.Digest)
			f.wantCached("second resolve", f.one.Digest)
			update(t, f.other, c.fn(f))
			f.poll()
			f.notFound("the poll after")
		})
	}
}

// TestReadCacheReadsALateCommit forces out-of-order commits into the
// drop log: a move that took its place in the log first commits after a
// deletion that took a later place and that a poll has read. The poll
// must not step past the move's place: the next poll reads it.
func TestReadCacheReadsALateCommit(t *testing.T) {
	f := newCacheFixture(t)
	update(t, f.other, func(tx meta.Tx) error {
		if _, _, err := tx.Repositories().Ensure("lib"); err != nil {
			return err
		}
		if err := tx.Manifests().Put("lib", f.two); err != nil {
			return err
		}
		return tx.Tags().Put("lib", "x", f.two.Digest)
	})
	f.wantRead("first resolve", f.one.Digest)
	f.wantCached("second resolve", f.one.Digest)

	moved, commit, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		first := true
		done <- f.other.Update(context.Background(), func(tx meta.Tx) error {
			// The manifest was not put by this transaction: the move is
			// sent at once, with its row of the drop log.
			if err := tx.Tags().Put("app", "v1", f.two.Digest); err != nil {
				return err
			}
			if first {
				first = false
				close(moved)
				<-commit
			}
			return nil
		})
	}()
	<-moved
	update(t, f.other, func(tx meta.Tx) error { return tx.Tags().Delete("lib", "x") })
	f.poll()
	f.wantCached("before the move commits", f.one.Digest)
	close(commit)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	f.poll()
	f.wantRead("the poll after the move committed", f.two.Digest)
}

// TestReadCacheRefusesAnOlderRead checks that a View whose snapshot
// predates a change this store commits while the View runs does not put
// what it read into the cache after the change: the next View reads the
// change.
func TestReadCacheRefusesAnOlderRead(t *testing.T) {
	f := newCacheFixture(t)
	err := f.here.View(meta.AllowCachedReads(t.Context()), func(tx meta.Tx) error {
		// The snapshot is taken here, before the move.
		if _, err := tx.Records("k").Get("a"); !errors.Is(err, meta.ErrNotFound) {
			return err
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			move(t, f.here, f.two.Digest)
		}()
		<-done
		d, err := tx.Tags().Get("app", "v1")
		if err == nil && d != f.one.Digest {
			t.Errorf("the View's snapshot: v1 = %s, want one", d)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := resolve(t, f.here); d != f.two.Digest {
		t.Fatalf("after the View: v1 = %s, want two (the View's older read was kept)", d)
	}
}

// TestReadCacheTakesNoConnection checks that a View answered from the
// cache does not wait for a connection of an exhausted pool.
func TestReadCacheTakesNoConnection(t *testing.T) {
	dsn := testpg.Database(t)
	s, err := postgres.Open(t.Context(), dsn, postgres.WithReadCache(time.Hour), postgres.WithMaxConns(1),
		postgres.WithParkLinger(0), postgres.WithAcquireTimeout(30*time.Second), postgres.WithManualDropPolls())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := postgres.PollDrops(s); err != nil {
		t.Fatal(err)
	}
	metatest.Tagged(t, s, "app", "v1")
	resolveOnce := func() error {
		return s.View(meta.AllowCachedReads(t.Context()), func(tx meta.Tx) error {
			_, err := tx.Tags().Get("app", "v1")
			return err
		})
	}
	if err := resolveOnce(); err != nil {
		t.Fatal(err)
	}
	// Hold the pool's only connection in an Update.
	holding, release := make(chan struct{}), make(chan struct{})
	held := make(chan error, 1)
	go func() {
		held <- s.Update(t.Context(), func(tx meta.Tx) error {
			_, err := tx.Records("k").Get("a")
			close(holding)
			<-release
			if errors.Is(err, meta.ErrNotFound) {
				return nil
			}
			return err
		})
	}()
	<-holding
	if err := resolveOnce(); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
}

// TestReadCacheForgetsAfterALongGap checks that a store that has not read
// the drop log for half the time the log keeps its rows forgets its
// whole cache: rows it never read may have been purged.
func TestReadCacheForgetsAfterALongGap(t *testing.T) {
	f := newCacheFixture(t)
	f.wantRead("first resolve", f.one.Digest)
	f.wantCached("second resolve", f.one.Digest)
	f.clock.Add(29 * time.Minute)
	f.poll()
	f.wantCached("after a 29-minute gap", f.one.Digest)
	f.clock.Add(30 * time.Minute)
	f.poll()
	f.wantRead("after a 30-minute gap", f.one.Digest)
}

// TestDropLogPurge checks that a poll deletes the drop log's rows older
// than an hour, and only those.
func TestDropLogPurge(t *testing.T) {
	dsn := testpg.Database(t)
	s, err := postgres.Open(t.Context(), dsn, postgres.WithReadCache(time.Second), postgres.WithManualDropPolls())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(t.Context(), `
		INSERT INTO cache_drops (seq, horizon, at, repo) VALUES
			(nextval('cache_drop_seq'), pg_current_xact_id(), now() - interval '61 minutes', 'old'),
			(nextval('cache_drop_seq'), pg_current_xact_id(), now() - interval '59 minutes', 'recent')`)
	if err != nil {
		t.Fatal(err)
	}
	if err := postgres.PollDrops(s); err != nil {
		t.Fatal(err)
	}
	var left []string
	rows, err := conn.Query(t.Context(), `SELECT repo FROM cache_drops ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	if left, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || left[0] != "recent" {
		t.Errorf("drop log after the purge: %q, want [recent]", left)
	}
}
