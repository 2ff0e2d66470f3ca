package postgres_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/internal/testpg"
	"github.com/berthreg/berth/meta"
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
// one and two, tag "v1" on one; here is a store with a read cache of ttl
// on clock, other a store on the same database without one (another
// instance), counting what here sends to the server.
type cacheFixture struct {
	here, other *postgres.Store
	clock       *clock
	trips       *tripCounter
	one, two    meta.Manifest
}

const cacheTTL = time.Second

func newCacheFixture(t *testing.T) *cacheFixture {
	t.Helper()
	dsn := testpg.Database(t)
	f := &cacheFixture{clock: &clock{now: time.Unix(1e9, 0)}, trips: &tripCounter{}}
	var err error
	f.here, err = postgres.Open(t.Context(), dsn, postgres.WithReadCache(cacheTTL), postgres.WithClock(f.clock.Now),
		postgres.WithTracer(f.trips), postgres.WithParkLinger(time.Hour))
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
	return f
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

// move points v1 at d through s.
func move(t *testing.T, s meta.Store, d digest.Digest) {
	t.Helper()
	if err := s.Update(t.Context(), func(tx meta.Tx) error { return tx.Tags().Put("app", "v1", d) }); err != nil {
		t.Fatal(err)
	}
}

// TestReadCacheBound checks the cache's promise: a tag read again within
// the ttl costs no round trip; another instance's change is seen once the
// ttl has passed, and not before (the bound is the ttl, not later); this
// store's own change is seen at once.
func TestReadCacheBound(t *testing.T) {
	f := newCacheFixture(t)
	if d := resolve(t, f.here); d != f.one.Digest {
		t.Fatalf("v1 = %s, want one", d)
	}
	before := f.trips.count()
	if d := resolve(t, f.here); d != f.one.Digest {
		t.Fatalf("v1 = %s from the cache, want one", d)
	}
	if n := f.trips.count() - before; n != 0 {
		t.Errorf("a cached resolve sent %d round trips, want 0", n)
	}

	move(t, f.other, f.two.Digest)
	f.clock.Add(cacheTTL - time.Millisecond)
	if d := resolve(t, f.here); d != f.one.Digest {
		t.Fatalf("within the ttl of another instance's change: v1 = %s, want the cached one", d)
	}
	if d := resolveIn(t, f.here, t.Context()); d != f.two.Digest {
		t.Fatalf("a View that did not ask for cached reads: v1 = %s, want two", d)
	}
	f.clock.Add(time.Millisecond)
	if d := resolve(t, f.here); d != f.two.Digest {
		t.Fatalf("a ttl after another instance's change: v1 = %s, want two", d)
	}

	move(t, f.here, f.one.Digest)
	if d := resolve(t, f.here); d != f.one.Digest {
		t.Fatalf("after this store's own change: v1 = %s, want one", d)
	}
	// Deleting the manifest (and so its tag) here: not found at once.
	if err := f.here.Update(t.Context(), func(tx meta.Tx) error { return tx.Manifests().Delete("app", f.one.Digest) }); err != nil {
		t.Fatal(err)
	}
	err := f.here.View(meta.AllowCachedReads(t.Context()), func(tx meta.Tx) error { _, err := tx.Tags().Get("app", "v1"); return err })
	if !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("v1 after its manifest was deleted here: %v, want not found", err)
	}
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
		postgres.WithParkLinger(0), postgres.WithAcquireTimeout(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d := digest.FromString("m")
	err = s.Update(t.Context(), func(tx meta.Tx) error {
		if _, _, err := tx.Repositories().Ensure("app"); err != nil {
			return err
		}
		if err := tx.Manifests().Put("app", meta.Manifest{Digest: d, MediaType: "application/vnd.oci.image.manifest.v1+json"}); err != nil {
			return err
		}
		return tx.Tags().Put("app", "v1", d)
	})
	if err != nil {
		t.Fatal(err)
	}
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
