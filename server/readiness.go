package server

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/berthreg/berth/internal/outage"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/storage"
)

// Readiness checks: each backend gets readyTimeout to answer, and an
// answer is reused for readyTTL, so that /readyz, open to anyone, costs
// the backends at most one cheap read each per readyTTL however often it
// is called.
const (
	readyTimeout = 2 * time.Second
	readyTTL     = time.Second
)

// readiness answers /readyz: 200 "ok" while the metadata store and the
// storage both answer a cheap read (one repository name, one object
// name), else 503 with a Retry-After naming the backends that did not.
// One check runs at a time, for every caller waiting; its outcome is
// kept for readyTTL.
type readiness struct {
	store  meta.Store
	driver storage.Driver
	logger *slog.Logger
	now    func() time.Time // time.Now; tests replace it

	mu      sync.Mutex
	last    readyState
	at      time.Time     // when last was checked (zero: never)
	running chan struct{} // closed when the check in progress ends; nil when none runs
}

// readyState is the outcome of one check: each backend's error, nil when
// it answered.
type readyState struct {
	meta, storage error
}

// down names the backends that did not answer, "" when both did.
func (s readyState) down() string {
	var names []string
	if s.meta != nil {
		names = append(names, "metadata store")
	}
	if s.storage != nil {
		names = append(names, "storage")
	}
	return strings.Join(names, ", ")
}

func newReadiness(store meta.Store, driver storage.Driver, logger *slog.Logger) *readiness {
	return &readiness{store: store, driver: driver, logger: logger, now: time.Now}
}

// ServeHTTP implements http.Handler.
func (rd *readiness) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	st, err := rd.state(r.Context())
	if err != nil {
		return // the caller went away while waiting
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if down := st.down(); down != "" {
		w.Header().Set("Retry-After", outage.RetryAfter)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("unavailable: " + down + "\n"))
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

// state returns the last outcome if it is fresh, else waits for a check
// (its own, or the one another caller started). err is ctx's, when ctx
// ends first.
func (rd *readiness) state(ctx context.Context) (readyState, error) {
	for {
		rd.mu.Lock()
		if !rd.at.IsZero() && rd.now().Sub(rd.at) < readyTTL {
			st := rd.last
			rd.mu.Unlock()
			return st, nil
		}
		if wait := rd.running; wait != nil {
			rd.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return readyState{}, ctx.Err()
			}
		}
		done := make(chan struct{})
		rd.running = done
		rd.mu.Unlock()
		// Not bound to this caller: the others waiting for the outcome
		// must not get its cancellation as a backend's failure.
		st := rd.check(context.WithoutCancel(ctx))
		rd.mu.Lock()
		prev, first := rd.last, rd.at.IsZero()
		rd.last, rd.at, rd.running = st, rd.now(), nil
		close(done)
		rd.mu.Unlock()
		rd.report(prev, st, first)
		return st, nil
	}
}

// check reads one repository name and one object name, at once, each
// within readyTimeout.
func (rd *readiness) check(ctx context.Context) readyState {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	var st readyState
	var wg sync.WaitGroup
	wg.Go(func() {
		st.meta = rd.store.View(ctx, func(tx meta.Tx) error {
			_, err := tx.Repositories().List("", 1)
			return err
		})
	})
	wg.Go(func() {
		_, st.storage = rd.driver.List(ctx, "", "", 1)
	})
	wg.Wait()
	return st
}

// report logs the backends that went down (with their errors, which the
// answer does not show) and those that came back.
func (rd *readiness) report(prev, st readyState, first bool) {
	for _, b := range []struct {
		name    string
		was, is error
	}{{"metadata store", prev.meta, st.meta}, {"storage", prev.storage, st.storage}} {
		switch {
		case b.is != nil && (b.was == nil || first):
			rd.logger.Warn("readiness: backend unavailable", "backend", b.name, "err", b.is)
		case b.is == nil && b.was != nil:
			rd.logger.Info("readiness: backend available again", "backend", b.name)
		}
	}
}
