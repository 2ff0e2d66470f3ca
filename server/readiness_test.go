package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berthreg/berth/internal/faultmeta"
	"github.com/berthreg/berth/internal/testbolt"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/storage"
	"github.com/berthreg/berth/storage/memory"
)

// countingStore counts Views and runs hold, if set, before each.
type countingStore struct {
	meta.Store
	views atomic.Int64
	hold  func(ctx context.Context) error
}

func (s *countingStore) View(ctx context.Context, fn func(meta.Tx) error) error {
	s.views.Add(1)
	if s.hold != nil {
		if err := s.hold(ctx); err != nil {
			return err
		}
	}
	return s.Store.View(ctx, fn)
}

// downDriver fails every List with storage.ErrUnavailable while down.
type downDriver struct {
	storage.Driver
	down atomic.Bool
}

func (d *downDriver) List(ctx context.Context, prefix, after string, limit int) ([]string, error) {
	if d.down.Load() {
		return nil, fmt.Errorf("bucket: %w", storage.ErrUnavailable)
	}
	return d.Driver.List(ctx, prefix, after, limit)
}

func readyz(t *testing.T, rd *readiness) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	rd.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
	return w
}

// TestReadinessNamesWhatIsDown: /readyz is 200 "ok" with both backends
// answering, else 503 with a Retry-After naming the ones that do not,
// and follows them as they go and come back.
func TestReadinessNamesWhatIsDown(t *testing.T) {
	store := faultmeta.Wrap(testbolt.Open(t))
	driver := &downDriver{Driver: memory.New()}
	rd := newReadiness(store, driver, slog.New(slog.DiscardHandler))
	now := time.Unix(1_000_000, 0)
	rd.now = func() time.Time { return now }
	for _, c := range []struct {
		metaDown, storageDown bool
		status                int
		body                  string
	}{
		{false, false, http.StatusOK, "ok\n"},
		{true, false, http.StatusServiceUnavailable, "unavailable: metadata store\n"},
		{true, true, http.StatusServiceUnavailable, "unavailable: metadata store, storage\n"},
		{false, true, http.StatusServiceUnavailable, "unavailable: storage\n"},
		{false, false, http.StatusOK, "ok\n"},
	} {
		store.SetDown(c.metaDown)
		driver.down.Store(c.storageDown)
		now = now.Add(readyTTL) // the last outcome is stale
		w := readyz(t, rd)
		if w.Code != c.status || w.Body.String() != c.body {
			t.Errorf("metadata down %v, storage down %v: %d %q, want %d %q", c.metaDown, c.storageDown, w.Code, w.Body, c.status, c.body)
		}
		if retry := w.Header().Get("Retry-After"); (c.status == http.StatusServiceUnavailable) != (retry != "") {
			t.Errorf("metadata down %v, storage down %v: Retry-After %q", c.metaDown, c.storageDown, retry)
		}
	}
}

// TestReadinessChecksOncePerTTL: however many callers ask at once or in
// a row, the backends are read once per readyTTL.
func TestReadinessChecksOncePerTTL(t *testing.T) {
	store := &countingStore{Store: testbolt.Open(t)}
	rd := newReadiness(store, memory.New(), slog.New(slog.DiscardHandler))
	now := time.Unix(1_000_000, 0)
	rd.now = func() time.Time { return now } // frozen: only the test moves it
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if w := readyz(t, rd); w.Code != http.StatusOK {
				t.Errorf("readyz: %d %s", w.Code, w.Body)
			}
		})
	}
	wg.Wait()
	if n := store.views.Load(); n != 1 {
		t.Errorf("50 callers within the TTL: %d checks, want 1", n)
	}
	now = now.Add(readyTTL - 1)
	readyz(t, rd)
	if n := store.views.Load(); n != 1 {
		t.Errorf("a caller just within the TTL: %d checks, want 1", n)
	}
	now = now.Add(1)
	readyz(t, rd)
	if n := store.views.Load(); n != 2 {
		t.Errorf("a caller once the TTL is over: %d checks, want 2", n)
	}
}

// TestReadinessOutlivesItsCaller: the caller that runs a check going
// away does not make the check fail (the others waiting for it would
// read its cancellation as an outage).
func TestReadinessOutlivesItsCaller(t *testing.T) {
	release := make(chan struct{})
	store := &countingStore{Store: testbolt.Open(t), hold: func(ctx context.Context) error {
		<-release
		return ctx.Err()
	}}
	rd := newReadiness(store, memory.New(), slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(t.Context())
	got := make(chan readyState, 1)
	go func() {
		st, _ := rd.state(ctx)
		got <- st
	}()
	cancel()
	close(release)
	if st := <-got; st.down() != "" {
		t.Errorf("a check whose caller went away: down %q (meta %v), want nothing", st.down(), st.meta)
	}
}
