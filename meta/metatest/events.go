package metatest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/berthreg/berth/meta"
)

// testEvents checks the event log: increasing sequence numbers, a round
// trip of every field, List after a position, Last, appends rolled back
// with their transaction (their numbers never seen again), Purge by age
// and position, and no writes in a View.
func testEvents(t *testing.T, s meta.Store) {
	full := meta.Event{Type: "PUSH_ARTIFACT", Time: at(1), Operator: "alice", Project: "team", Repository: "team/app",
		Digest: dg("m").String(), Tag: "v1", MediaType: "application/vnd.oci.image.manifest.v1+json", Size: 42,
		Resource: "r", Result: "success", Details: map[string]string{"k": "v"}}
	var seqs []uint64
	update(t, s, func(tx meta.Tx) error {
		seqs = seqs[:0]
		for i := range 3 {
			e := full
			e.Time = at(i + 1)
			seq, err := tx.Events().Append(e)
			check(t, "Append", err)
			seqs = append(seqs, seq)
		}
		return nil
	})
	if seqs[0] == 0 || seqs[1] <= seqs[0] || seqs[2] <= seqs[1] {
		t.Fatalf("sequence numbers %v: want increasing from 1 or more", seqs)
	}
	// A rolled-back append leaves no event behind: a backend may give its
	// number again (bbolt) or leave a gap (PostgreSQL), never list it.
	boom := errors.New("boom")
	var rolledBack uint64
	if err := s.Update(t.Context(), func(tx meta.Tx) error {
		var err error
		rolledBack, err = tx.Events().Append(full)
		check(t, "Append", err)
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("Update = %v", err)
	}
	var fourth uint64
	update(t, s, func(tx meta.Tx) error {
		var err error
		fourth, err = tx.Events().Append(meta.Event{Type: "DELETE_TAG"})
		check(t, "Append", err)
		return nil
	})
	if fourth <= seqs[2] {
		t.Errorf("after a rollback, the next sequence number is %d: want more than %d", fourth, seqs[2])
	}
	viewSettled(t, s, "the events after a rolled-back append", func(tx meta.Tx) (bool, error) {
		all, err := tx.Events().List(0, 0)
		check(t, "List", err)
		if len(all) < 4 {
			return false, nil
		}
		if len(all) != 4 {
			t.Fatalf("List(0) = %d events, want 4", len(all))
		}
		for i, want := range []uint64{seqs[0], seqs[1], seqs[2], fourth} {
			if all[i].Seq != want {
				t.Errorf("List(0)[%d].Seq = %d, want %d", i, all[i].Seq, want)
			}
		}
		want, got := full, all[0]
		want.Seq = seqs[0]
		if !got.Time.Equal(want.Time) {
			t.Errorf("time %v, want %v", got.Time, want.Time)
		}
		got.Time, want.Time = time.Time{}, time.Time{}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("round trip:\n got %+v\nwant %+v", all[0], want)
		}
		if all[3].Time.IsZero() {
			t.Error("Append left Time zero")
		}
		tail, err := tx.Events().List(seqs[1], 1)
		check(t, "List", err)
		if len(tail) != 1 || tail[0].Seq != seqs[2] {
			t.Errorf("List(after %d, 1) = %+v", seqs[1], tail)
		}
		after, err := tx.Events().List(seqs[2], 0)
		check(t, "List", err)
		if len(after) != 1 || after[0].Seq != fourth || after[0].Type != "DELETE_TAG" {
			t.Errorf("List(after %d) = %+v, want the DELETE_TAG event %d alone (the append rolled back as %d left none)",
				seqs[2], after, fourth, rolledBack)
		}
		last, err := tx.Events().Last()
		check(t, "Last", err)
		if last != fourth {
			t.Errorf("Last = %d, want %d", last, fourth)
		}
		if _, err := tx.Events().Append(full); !errors.Is(err, meta.ErrReadOnly) {
			t.Errorf("Append in a View: %v", err)
		}
		return true, nil
	})
	// Purge stops at the age limit and at the position limit.
	update(t, s, func(tx meta.Tx) error {
		n, err := tx.Events().Purge(at(3), seqs[2], 0)
		check(t, "Purge", err)
		if n != 2 {
			t.Errorf("Purge(before at(3)) deleted %d, want 2", n)
		}
		n, err = tx.Events().Purge(time.Now().Add(time.Hour), seqs[2], 0)
		check(t, "Purge", err)
		if n != 1 {
			t.Errorf("Purge(up to %d) deleted %d, want 1", seqs[2], n)
		}
		return nil
	})
	viewSettled(t, s, "the events left by Purge", func(tx meta.Tx) (bool, error) {
		left, err := tx.Events().List(0, 0)
		check(t, "List", err)
		if len(left) == 0 {
			return false, nil
		}
		if len(left) != 1 || left[0].Type != "DELETE_TAG" {
			t.Errorf("after purges: %+v", left)
		}
		return true, nil
	})
	// Sequence numbers are never reused, even when the log was purged
	// to its end.
	update(t, s, func(tx meta.Tx) error {
		last, err := tx.Events().Last()
		check(t, "Last", err)
		_, err = tx.Events().Purge(time.Now().Add(time.Hour), last, 0)
		check(t, "Purge", err)
		seq, err := tx.Events().Append(meta.Event{Type: "DELETE_TAG"})
		check(t, "Append", err)
		if seq <= last {
			t.Errorf("Append after purging up to %d = %d: a sequence number again", last, seq)
		}
		return nil
	})
	// Cursors are a plain table.
	update(t, s, func(tx meta.Tx) error {
		check(t, "put cursor", tx.Cursors().Put(meta.Cursor{Name: "webhook", Seq: 7, UpdatedAt: at(5)}))
		return nil
	})
	view(t, s, func(tx meta.Tx) error {
		c, err := tx.Cursors().Get("webhook")
		check(t, "get cursor", err)
		if c.Seq != 7 || !c.UpdatedAt.Equal(at(5)) {
			t.Errorf("cursor %+v", c)
		}
		return nil
	})
}

// testJobs checks the job queue: Enqueue, keys, leasing order and due
// times, lease expiry and takeover, per-kind limits, states leaving the
// active set, List filters, Put and Delete.
func testJobs(t *testing.T, s meta.Store) {
	now := at(100)
	lease := func(tx meta.Tx, kinds []string, limit map[string]int, worker string, when time.Time) (meta.Job, error) {
		return tx.Jobs().Lease(kinds, limit, worker, when, when.Add(time.Minute))
	}
	var a, b, c, later meta.Job
	update(t, s, func(tx meta.Tx) error {
		var err error
		a, err = tx.Jobs().Enqueue(meta.Job{Kind: "mail", Payload: []byte(`{"n":1}`), MaxAttempts: 3, Key: "k1"}, now)
		check(t, "Enqueue", err)
		b, err = tx.Jobs().Enqueue(meta.Job{Kind: "mail", Payload: []byte(`{"n":2}`)}, now)
		check(t, "Enqueue", err)
		c, err = tx.Jobs().Enqueue(meta.Job{Kind: "scan"}, now)
		check(t, "Enqueue", err)
		later, err = tx.Jobs().Enqueue(meta.Job{Kind: "mail", RunAt: now.Add(time.Hour)}, now)
		check(t, "Enqueue", err)
		if _, err := tx.Jobs().Enqueue(meta.Job{Kind: "mail", Key: "k1"}, now); !errors.Is(err, meta.ErrDuplicate) {
			t.Errorf("a second job with key k1: %v", err)
		}
		if _, err := tx.Jobs().Enqueue(meta.Job{}, now); err == nil {
			t.Error("a job without a kind was enqueued")
		}
		return nil
	})
	if a.ID == 0 || b.ID <= a.ID || a.State != meta.JobPending || !a.RunAt.Equal(now) || !a.CreatedAt.Equal(now) {
		t.Fatalf("enqueued %+v, %+v", a, b)
	}
	update(t, s, func(tx meta.Tx) error {
		got, err := lease(tx, []string{"mail"}, nil, "w1", now)
		check(t, "Lease", err)
		if got.ID != a.ID || got.State != meta.JobRunning || got.Worker != "w1" || got.Attempts != 1 || !got.LeaseUntil.Equal(now.Add(time.Minute)) || string(got.Payload) != `{"n":1}` {
			t.Errorf("first lease %+v, want job %d running for w1", got, a.ID)
		}
		// With mail capped at one running job, b waits; scan is another kind.
		if _, err := lease(tx, []string{"mail"}, map[string]int{"mail": 1}, "w2", now); !errors.Is(err, meta.ErrNotFound) {
			t.Errorf("a lease past the cap: %v", err)
		}
		got, err = lease(tx, []string{"mail", "scan"}, map[string]int{"mail": 1}, "w2", now)
		check(t, "Lease", err)
		if got.ID != c.ID {
			t.Errorf("under the mail cap the scan job goes: got %d, want %d", got.ID, c.ID)
		}
		got, err = lease(tx, []string{"mail"}, nil, "w2", now)
		check(t, "Lease", err)
		if got.ID != b.ID {
			t.Errorf("uncapped, b goes: got %d", got.ID)
		}
		// later is not due yet.
		if _, err := lease(tx, []string{"mail"}, nil, "w3", now.Add(time.Second)); !errors.Is(err, meta.ErrNotFound) {
			t.Errorf("a lease before anything is due: %v", err)
		}
		for _, c := range []struct {
			kinds []string
			at    time.Time
			want  bool
		}{
			{[]string{"mail"}, now.Add(time.Second), false},      // a, b leased; later not due
			{[]string{"mail"}, now.Add(2 * time.Minute), true},   // leases expired
			{[]string{"mail"}, now.Add(2 * time.Hour), true},     // later due
			{[]string{"other"}, now.Add(2 * time.Hour), false},   // no such kind
			{[]string{"scan"}, now.Add(30 * time.Second), false}, // c leased
		} {
			if got, err := tx.Jobs().Due(c.kinds, c.at); err != nil || got != c.want {
				t.Errorf("Due(%v, +%v) = %v, %v; want %v", c.kinds, c.at.Sub(now), got, err, c.want)
			}
		}
		return nil
	})
	// A lease that expires is taken over, with one more attempt.
	update(t, s, func(tx meta.Tx) error {
		got, err := lease(tx, []string{"mail"}, nil, "w9", now.Add(2*time.Minute))
		check(t, "Lease", err)
		if got.ID != a.ID || got.Worker != "w9" || got.Attempts != 2 {
			t.Errorf("takeover of an expired lease: %+v", got)
		}
		// Finishing a job takes it out of the active set.
		got.State, got.FinishedAt, got.Worker, got.Result = meta.JobSucceeded, now, "", []byte(`{"sent":1}`)
		check(t, "Put", tx.Jobs().Put(got))
		if back, err := tx.Jobs().Get(got.ID); err != nil || string(back.Result) != `{"sent":1}` || back.State != meta.JobSucceeded {
			t.Errorf("Get after Put: %+v, %v", back, err)
		}
		b2, err := tx.Jobs().Get(b.ID)
		check(t, "Get", err)
		b2.State, b2.LastError, b2.GivenBack = meta.JobDead, "boom", 2
		check(t, "Put", tx.Jobs().Put(b2))
		c2, err := tx.Jobs().Get(c.ID)
		check(t, "Get", err)
		c2.State = meta.JobCanceled
		check(t, "Put", tx.Jobs().Put(c2))
		// Only later remains, due in an hour.
		got, err = lease(tx, []string{"mail", "scan"}, nil, "w1", now.Add(2*time.Hour))
		check(t, "Lease", err)
		if got.ID != later.ID {
			t.Errorf("after the others finished: %+v", got)
		}
		return nil
	})
	view(t, s, func(tx meta.Tx) error {
		dead, err := tx.Jobs().List(meta.JobFilter{State: meta.JobDead}, 0, 0)
		check(t, "List", err)
		if len(dead) != 1 || dead[0].ID != b.ID || dead[0].LastError != "boom" || dead[0].GivenBack != 2 {
			t.Errorf("dead letters: %+v", dead)
		}
		mail, err := tx.Jobs().List(meta.JobFilter{Kind: "mail"}, a.ID, 1)
		check(t, "List", err)
		if len(mail) != 1 || mail[0].ID != b.ID {
			t.Errorf("List(mail, after %d, 1) = %+v", a.ID, mail)
		}
		if _, err := tx.Jobs().Lease([]string{"mail"}, nil, "w", now, now); !errors.Is(err, meta.ErrReadOnly) {
			t.Errorf("Lease in a View: %v", err)
		}
		return nil
	})
	update(t, s, func(tx meta.Tx) error {
		check(t, "Delete", tx.Jobs().Delete(a.ID))
		wantNotFound(t, "Get after Delete", func() error { _, err := tx.Jobs().Get(a.ID); return err }())
		wantNotFound(t, "Delete twice", tx.Jobs().Delete(a.ID))
		// Its key is free again.
		_, err := tx.Jobs().Enqueue(meta.Job{Kind: "mail", Key: "k1"}, now)
		check(t, "Enqueue with a freed key", err)
		wantNotFound(t, "Put of an unknown job", tx.Jobs().Put(meta.Job{ID: 999, Kind: "x"}))
		return nil
	})
}
