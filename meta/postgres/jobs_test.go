package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berthreg/berth/internal/testpg"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/metatest"
	"github.com/berthreg/berth/meta/postgres"
)

// TestLeaseSkipsLockedJobs checks that a lease does not queue behind a job
// another open transaction is leasing: it takes the next one at once.
func TestLeaseSkipsLockedJobs(t *testing.T) {
	s := testpg.Open(t)
	now := metatest.At(0)
	var ids []uint64
	if err := s.Update(t.Context(), func(tx meta.Tx) error {
		ids = ids[:0]
		for i := range 3 {
			j, err := tx.Jobs().Enqueue(meta.Job{Kind: "k", RunAt: now.Add(time.Duration(i) * time.Second)}, now)
			if err != nil {
				return err
			}
			ids = append(ids, j.ID)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	leased := make(chan uint64, 1)
	release := make(chan struct{})
	done := make(chan error, 1)
	var first sync.Once
	go func() {
		done <- s.Update(t.Context(), func(tx meta.Tx) error {
			j, err := tx.Jobs().Lease([]string{"k"}, nil, "a", now.Add(time.Minute), now.Add(time.Hour))
			if err != nil {
				return err
			}
			first.Do(func() {
				leased <- j.ID
				<-release // hold the row lock
			})
			return nil
		})
	}()
	var a uint64
	select {
	case a = <-leased:
	case err := <-done:
		t.Fatalf("first lease: %v", err)
	}
	if a != ids[0] {
		t.Errorf("first lease took job %d, want the earliest, %d", a, ids[0])
	}
	// The first lease is still open, holding its row: this one must not
	// wait for it. Were it waiting, it would wait forever (the first is
	// released only after it returns): the guard turns that into a failure.
	ctx, cancel := context.WithTimeout(t.Context(), settleWait)
	defer cancel()
	var b meta.Job
	if err := s.Update(ctx, func(tx meta.Tx) error {
		var err error
		b, err = tx.Jobs().Lease([]string{"k"}, nil, "b", now.Add(time.Minute), now.Add(time.Hour))
		return err
	}); err != nil {
		close(release)
		t.Fatalf("second lease (waiting behind the first?): %v", err)
	}
	if b.ID == a {
		t.Errorf("second lease took job %d, which the first holds", b.ID)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("first lease: %v", err)
	}
	// The two leases conflict under SERIALIZABLE (each read the range the
	// other wrote), so the first may have been run again: either way, two
	// distinct jobs are running now, each leased once.
	if err := s.View(t.Context(), func(tx meta.Tx) error {
		running, err := tx.Jobs().List(meta.JobFilter{State: meta.JobRunning}, 0, 0)
		if err != nil {
			return err
		}
		if len(running) != 2 || running[0].ID == running[1].ID {
			t.Errorf("running jobs %+v, want two", running)
		}
		for _, j := range running {
			if j.Attempts != 1 {
				t.Errorf("job %d leased %d times", j.ID, j.Attempts)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestLeaseLimitsAcrossInstances runs several stores on one database, as
// several registry instances would, each with several runners leasing
// and finishing jobs of two kinds with per-kind limits: a limit is never
// exceeded, no job is leased twice, and every job is done.
func TestLeaseLimitsAcrossInstances(t *testing.T) {
	const (
		instances = 3
		runners   = 3 // per instance
		jobsEach  = 30
	)
	limits := map[string]int{"mail": 2, "scan": 1}
	dsn := testpg.Database(t)
	stores := make([]*postgres.Store, instances)
	for i := range stores {
		s, err := postgres.Open(t.Context(), dsn, postgres.WithMaxConns(runners+1))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores[i] = s
	}
	now := metatest.At(0)
	if err := stores[0].Update(t.Context(), func(tx meta.Tx) error {
		for i := range jobsEach {
			for _, kind := range []string{"mail", "scan"} {
				if _, err := tx.Jobs().Enqueue(meta.Job{Kind: kind, Payload: fmt.Appendf(nil, "%d", i)}, now); err != nil {
					return err
				}
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	var (
		mu       sync.Mutex
		holding  = map[string]int{} // jobs a runner holds between its lease and its finish
		most     = map[string]int{}
		leases   = map[uint64]int{}
		finished atomic.Int64
		wg       sync.WaitGroup
	)
	lease, until := now.Add(time.Minute), now.Add(time.Hour) // no lease expires during the test
	for i, s := range stores {
		for r := range runners {
			worker := fmt.Sprintf("i%d-r%d", i, r)
			wg.Go(func() {
				for finished.Load() < 2*jobsEach {
					var j meta.Job
					err := s.Update(t.Context(), func(tx meta.Tx) error {
						var err error
						j, err = tx.Jobs().Lease([]string{"mail", "scan"}, limits, worker, lease, until)
						return err
					})
					if errors.Is(err, meta.ErrNotFound) {
						time.Sleep(time.Millisecond) // everything due is leased, up to the limits
						continue
					}
					if err != nil {
						t.Errorf("%s: lease: %v", worker, err)
						return
					}
					mu.Lock()
					leases[j.ID]++
					holding[j.Kind]++
					most[j.Kind] = max(most[j.Kind], holding[j.Kind])
					mu.Unlock()
					time.Sleep(time.Millisecond) // the work
					mu.Lock()
					holding[j.Kind]-- // before the finish commits: the store counts it a while longer
					mu.Unlock()
					if err := s.Update(t.Context(), func(tx meta.Tx) error {
						j.State, j.Worker, j.FinishedAt = meta.JobSucceeded, "", until
						return tx.Jobs().Put(j)
					}); err != nil {
						t.Errorf("%s: finish job %d: %v", worker, j.ID, err)
						return
					}
					finished.Add(1)
				}
			})
		}
	}
	wg.Wait()
	for kind, n := range limits {
		if most[kind] > n {
			t.Errorf("%s: %d jobs held at once, limit %d", kind, most[kind], n)
		}
	}
	if len(leases) != 2*jobsEach {
		t.Errorf("%d jobs leased, want %d", len(leases), 2*jobsEach)
	}
	for id, n := range leases {
		if n != 1 {
			t.Errorf("job %d leased %d times", id, n)
		}
	}
	if err := stores[1].View(t.Context(), func(tx meta.Tx) error {
		done, err := tx.Jobs().List(meta.JobFilter{State: meta.JobSucceeded}, 0, 0)
		if len(done) != 2*jobsEach {
			t.Errorf("%d jobs succeeded, want %d", len(done), 2*jobsEach)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Logf("most held at once: %v (limits %v)", most, limits)
}
