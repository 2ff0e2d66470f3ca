package metatest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/metacopy"
)

// testDump checks what Dumper reads: kinds holding records, links with
// their records, claims and tombstones with their times, paged, and the
// counters.
func testDump(t *testing.T, open func(*testing.T) meta.Store) {
	s := open(t)
	view(t, s, func(tx meta.Tx) error {
		d := porter(tx).Dump()
		kinds, err := d.Kinds()
		check(t, "Kinds", err)
		wantStrings(t, "the kinds of an empty store", kinds, nil)
		seqs, err := d.Sequences()
		if err != nil || seqs != (meta.Sequences{}) {
			t.Errorf("the counters of an empty store: %+v, %v", seqs, err)
		}
		_, err = d.Links("missing", "", 0)
		wantNotFound(t, "the links of a missing repository", err)
		return nil
	})
	var links, claims, stones []meta.Blob // stamps as blobs: digest and time
	for i := range 5 {
		dgst := dg(fmt.Sprint("dump-", i))
		if i%2 == 1 {
			dgst = sha512Digest(fmt.Sprint("dump-", i))
		}
		links = append(links, meta.Blob{Digest: dgst, Size: int64(i), CreatedAt: at(i)})
		claims = append(claims, meta.Blob{Digest: dgst, CreatedAt: at(10 + i)})
		stones = append(stones, meta.Blob{Digest: dg(fmt.Sprint("dump-stone-", i)), CreatedAt: at(20 + i)})
	}
	update(t, s, func(tx meta.Tx) error {
		ensure(t, tx, "r", "empty")
		for i := range links {
			check(t, "Link", tx.Blobs().Link("r", links[i]))
			check(t, "Claim", tx.Collector().Claims().Claim(claims[i].Digest, claims[i].CreatedAt))
			check(t, "Tombstone", tx.Collector().Tombstones().Tombstone(stones[i].Digest, stones[i].CreatedAt))
		}
		for _, k := range []string{"b-kind", "a-kind", "c.kind"} {
			check(t, "Records.Put", tx.Records(k).Put("key", []byte("v")))
		}
		check(t, "Records.Delete", tx.Records("c.kind").Delete("key"))
		for i := range 3 {
			_, err := tx.Events().Append(meta.Event{Type: "T", Time: at(i)})
			check(t, "Append", err)
		}
		_, err := tx.Events().Purge(at(10), ^uint64(0), 0)
		check(t, "Purge", err)
		_, err = tx.Jobs().Enqueue(meta.Job{Kind: "k"}, at(0))
		check(t, "Enqueue", err)
		j, err := tx.Jobs().Enqueue(meta.Job{Kind: "k"}, at(0))
		check(t, "Enqueue", err)
		check(t, "Jobs.Delete", tx.Jobs().Delete(j.ID))
		return nil
	})
	key := func(b meta.Blob) digest.Digest { return b.Digest }
	byDigest(links, key)
	byDigest(claims, key)
	byDigest(stones, key)
	view(t, s, func(tx meta.Tx) error {
		d := porter(tx).Dump()
		kinds, err := d.Kinds()
		check(t, "Kinds", err)
		wantStrings(t, "the kinds holding records", kinds, []string{"a-kind", "b-kind"})
		for _, c := range []struct {
			what string
			want []meta.Blob
			list func(after digest.Digest, limit int) ([]meta.Blob, error)
		}{
			{"Links", links, func(after digest.Digest, limit int) ([]meta.Blob, error) { return d.Links("r", after, limit) }},
			{"Claims", claims, func(after digest.Digest, limit int) ([]meta.Blob, error) {
				ss, err := d.Claims(after, limit)
				return stampBlobs(ss), err
			}},
			{"Tombstones", stones, func(after digest.Digest, limit int) ([]meta.Blob, error) {
				ss, err := d.Tombstones(after, limit)
				return stampBlobs(ss), err
			}},
		} {
			all, err := c.list("", 0)
			check(t, c.what, err)
			wantBlobs(t, c.what, all, c.want)
			var paged []meta.Blob
			for after := digest.Digest(""); ; {
				page, err := c.list(after, 2)
				check(t, c.what, err)
				if len(page) > 2 {
					t.Fatalf("%s: a page of %d with limit 2", c.what, len(page))
				}
				if len(page) == 0 {
					break
				}
				paged = append(paged, page...)
				after = page[len(page)-1].Digest
			}
			wantBlobs(t, c.what+", paged by 2", paged, c.want)
			page, err := c.list("\xff", 0) // after every digest, and no text PostgreSQL can hold
			if err != nil || len(page) != 0 {
				t.Errorf("%s after \\xff: %+v, %v", c.what, page, err)
			}
		}
		empty, err := d.Links("empty", "", 0)
		if err != nil || len(empty) != 0 {
			t.Errorf("the links of an empty repository: %+v, %v", empty, err)
		}
		seqs, err := d.Sequences()
		if err != nil || seqs != (meta.Sequences{Events: 3, Jobs: 2}) {
			t.Errorf("counters %+v, %v; want 3 events and 2 jobs handed out", seqs, err)
		}
		return nil
	})
}

// wantExists fails the test unless err wraps meta.ErrExists.
func wantExists(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, meta.ErrExists) {
		t.Errorf("%s: got %v, want meta.ErrExists", what, err)
	}
}

// testRestoreConflicts checks that Restorer writes records exactly, that
// each conflict is meta.ErrExists and leaves the transaction usable, and
// that counters rise and never fall.
func testRestoreConflicts(t *testing.T, open func(*testing.T) meta.Store) {
	s := open(t)
	d1, d2 := dg("restore-1"), dg("restore-2")
	job := meta.Job{ID: 7, Kind: "k", Key: "key", Payload: []byte("p"), State: meta.JobRunning, Attempts: 2, MaxAttempts: 4,
		GivenBack: 1, RunAt: at(5), Worker: "w", LeaseUntil: at(6), LastError: "e", Result: []byte("r"), CreatedAt: at(4), UpdatedAt: at(5)}
	event := meta.Event{Seq: 5, Type: "X", Time: at(4), Operator: "o", Details: map[string]string{"k": "v"}}
	update(t, s, func(tx meta.Tx) error {
		r := porter(tx).Restore()
		check(t, "Repository", r.Repository(meta.Repository{Name: "r", CreatedAt: at(1)}))
		wantExists(t, "a second Repository", r.Repository(meta.Repository{Name: "r", CreatedAt: at(9)}))
		check(t, "Blob", r.Blob(meta.Blob{Digest: d1, Size: 5, CreatedAt: at(2)}))
		wantExists(t, "a second Blob", r.Blob(meta.Blob{Digest: d1, Size: 6, CreatedAt: at(9)}))
		check(t, "Link", r.Link("r", meta.Blob{Digest: d1, Size: 5, CreatedAt: at(3)}))
		wantExists(t, "a second Link", r.Link("r", meta.Blob{Digest: d1, Size: 6, CreatedAt: at(9)}))
		wantNotFound(t, "a Link into a missing repository", r.Link("missing", meta.Blob{Digest: d1}))
		check(t, "Event", r.Event(event))
		wantExists(t, "a second Event", r.Event(meta.Event{Seq: 5, Type: "Y"}))
		if err := r.Event(meta.Event{Type: "no number"}); err == nil {
			t.Error("an Event without a number was restored")
		}
		check(t, "Job", r.Job(job))
		wantExists(t, "a second Job of the id", r.Job(meta.Job{ID: 7, Kind: "other"}))
		wantExists(t, "a Job with a taken key", r.Job(meta.Job{ID: 8, Kind: "k", Key: "key", State: meta.JobPending}))
		if err := r.Job(meta.Job{Kind: "k"}); err == nil {
			t.Error("a Job without an id was restored")
		}
		check(t, "Tombstone", r.Tombstone(meta.Stamp{Digest: d2, At: at(7)}))
		wantExists(t, "a second Tombstone", r.Tombstone(meta.Stamp{Digest: d2, At: at(9)}))
		check(t, "Tombstone of a blob with a record", r.Tombstone(meta.Stamp{Digest: d1, At: at(8)}))
		check(t, "Sequences below", r.Sequences(meta.Sequences{Events: 3, Jobs: 1}))
		// The conflicts left the transaction usable.
		check(t, "Records.Put after the conflicts", tx.Records("k").Put("after", []byte("x")))
		return nil
	})
	view(t, s, func(tx meta.Tx) error {
		repo, err := tx.Repositories().Get("r")
		if err != nil || !repo.CreatedAt.Equal(at(1)) {
			t.Errorf("restored repository %+v, %v", repo, err)
		}
		b, err := tx.Blobs().Stat(d1)
		check(t, "Stat", err)
		wantBlob(t, "the restored blob, tombstoned after", b, meta.Blob{Digest: d1, Size: 5, CreatedAt: at(2)})
		b, err = tx.Blobs().Linked("r", d1)
		check(t, "Linked", err)
		wantBlob(t, "the restored link", b, meta.Blob{Digest: d1, Size: 5, CreatedAt: at(3)})
		p, err := tx.Events().Backward(0, 0, 0, nil)
		if err != nil || len(p.Events) != 1 || !sameRecord(p.Events[0], event) {
			t.Errorf("restored events %+v, %v; want %+v", p.Events, err, event)
		}
		got, err := tx.Jobs().Get(7)
		if err != nil || !sameRecord(got, job) {
			t.Errorf("restored job\n got %+v (%v)\nwant %+v", got, err, job)
		}
		if _, err := tx.Jobs().Get(8); !errors.Is(err, meta.ErrNotFound) {
			t.Errorf("the job refused for its key: %v", err)
		}
		stones, err := porter(tx).Dump().Tombstones("", 0)
		check(t, "Tombstones", err)
		wantStamps(t, "restored tombstones", stones, byDigest([]meta.Stamp{{Digest: d1, At: at(8)}, {Digest: d2, At: at(7)}},
			func(s meta.Stamp) digest.Digest { return s.Digest }))
		seqs, err := porter(tx).Dump().Sequences()
		if err != nil || seqs != (meta.Sequences{Events: 5, Jobs: 7}) {
			t.Errorf("counters %+v, %v; want raised to the restored event 5 and job 7, never lowered", seqs, err)
		}
		return nil
	})
	update(t, s, func(tx meta.Tx) error {
		return porter(tx).Restore().Sequences(meta.Sequences{Events: 100, Jobs: 50})
	})
	update(t, s, func(tx meta.Tx) error {
		seq, err := tx.Events().Append(meta.Event{Type: "next"})
		check(t, "Append", err)
		j, err := tx.Jobs().Enqueue(meta.Job{Kind: "next"}, at(0))
		check(t, "Enqueue", err)
		if seq != 101 || j.ID != 51 {
			t.Errorf("after Sequences{100, 50}: event %d and job %d, want 101 and 51", seq, j.ID)
		}
		return nil
	})
}

// testRestoreReadOnly checks that every Restorer write fails in a View.
func testRestoreReadOnly(t *testing.T, open func(*testing.T) meta.Store) {
	s := open(t)
	view(t, s, func(tx meta.Tx) error {
		r := porter(tx).Restore()
		d := dg("ro")
		for what, err := range map[string]error{
			"Repository": r.Repository(meta.Repository{Name: "r"}),
			"Blob":       r.Blob(meta.Blob{Digest: d}),
			"Link":       r.Link("r", meta.Blob{Digest: d}),
			"Event":      r.Event(meta.Event{Seq: 1, Type: "X"}),
			"Job":        r.Job(meta.Job{ID: 1, Kind: "k"}),
			"Tombstone":  r.Tombstone(meta.Stamp{Digest: d}),
			"Sequences":  r.Sequences(meta.Sequences{Events: 1}),
		} {
			if !errors.Is(err, meta.ErrReadOnly) {
				t.Errorf("%s in a View: %v, want meta.ErrReadOnly", what, err)
			}
		}
		return nil
	})
}

// testRestoreEventGaps checks that events restored with numbers missing
// between them are all listed (the gaps are settled), and that appends
// continue above them.
func testRestoreEventGaps(t *testing.T, open func(*testing.T) meta.Store) {
	s := open(t)
	restore := func(seqs ...uint64) {
		update(t, s, func(tx meta.Tx) error {
			for _, n := range seqs {
				check(t, "Event", porter(tx).Restore().Event(meta.Event{Seq: n, Type: "T", Time: at(int(n))}))
			}
			return nil
		})
	}
	restore(2, 3, 7, 10)
	restore(12)
	seqsOf := func(es []meta.Event) []uint64 {
		out := make([]uint64, len(es))
		for i, e := range es {
			out[i] = e.Seq
		}
		return out
	}
	viewSettled(t, s, "restored events with gaps", func(tx meta.Tx) (bool, error) {
		all, err := tx.Events().List(0, 0)
		if err != nil || len(all) < 5 {
			return false, err
		}
		if got := fmt.Sprint(seqsOf(all)); got != "[2 3 7 10 12]" {
			t.Errorf("List(0) = %s", got)
		}
		if last, err := tx.Events().Last(); err != nil || last != 12 {
			t.Errorf("Last = %d, %v; want 12", last, err)
		}
		page, err := tx.Events().List(3, 2)
		if got := fmt.Sprint(seqsOf(page)); err != nil || got != "[7 10]" {
			t.Errorf("List(3, 2) = %s, %v", got, err)
		}
		return true, nil
	})
	update(t, s, func(tx meta.Tx) error {
		seq, err := tx.Events().Append(meta.Event{Type: "after"})
		check(t, "Append", err)
		if seq <= 12 {
			t.Errorf("an append after the restore took %d: want above 12", seq)
		}
		return nil
	})
}

// testCopyNotEmpty checks that Copy refuses a destination holding
// anything, names it, and writes nothing.
func testCopyNotEmpty(t *testing.T, open func(*testing.T) meta.Store) {
	src := open(t)
	update(t, src, func(tx meta.Tx) error { ensure(t, tx, "src/repo"); return nil })
	for _, c := range []struct {
		what string
		fill func(tx meta.Tx) error
	}{
		{`record kind "kind"`, func(tx meta.Tx) error { return tx.Records("kind").Put("k", nil) }},
		{"event 1", func(tx meta.Tx) error { _, err := tx.Events().Append(meta.Event{Type: "T"}); return err }},
		{"job 1", func(tx meta.Tx) error { _, err := tx.Jobs().Enqueue(meta.Job{Kind: "k"}, at(0)); return err }},
		{"tombstone of " + string(dg("t")), func(tx meta.Tx) error {
			return tx.Collector().Tombstones().Tombstone(dg("t"), at(0))
		}},
	} {
		dst := open(t)
		update(t, dst, c.fill)
		_, err := metacopy.Copy(t.Context(), dst, src)
		if !errors.Is(err, metacopy.ErrNotEmpty) || !strings.Contains(err.Error(), c.what) {
			t.Errorf("Copy into a store holding %s: %v, want ErrNotEmpty naming it", c.what, err)
		}
		view(t, dst, func(tx meta.Tx) error {
			if names, err := tx.Repositories().List("", 0); err != nil || len(names) != 0 {
				t.Errorf("a refused Copy wrote repositories %q (%v)", names, err)
			}
			return nil
		})
	}
}

// testCopyIntoUsedStore checks a copy into a store that is empty but has
// numbered events and jobs before: its counters stay above, and Compare
// accepts them.
func testCopyIntoUsedStore(t *testing.T, open func(*testing.T) meta.Store) {
	src, dst := open(t), open(t)
	update(t, src, func(tx meta.Tx) error {
		for range 3 {
			_, err := tx.Events().Append(meta.Event{Type: "T", Time: at(1)})
			check(t, "Append", err)
		}
		_, err := tx.Jobs().Enqueue(meta.Job{Kind: "k"}, at(1))
		return err
	})
	update(t, dst, func(tx meta.Tx) error {
		for range 20 {
			_, err := tx.Events().Append(meta.Event{Type: "old", Time: at(0)})
			check(t, "Append", err)
		}
		_, err := tx.Events().Purge(at(1), ^uint64(0), 0)
		check(t, "Purge", err)
		for range 10 {
			j, err := tx.Jobs().Enqueue(meta.Job{Kind: "old"}, at(0))
			check(t, "Enqueue", err)
			check(t, "Jobs.Delete", tx.Jobs().Delete(j.ID))
		}
		return nil
	})
	if _, err := metacopy.Copy(t.Context(), dst, src); err != nil {
		t.Fatalf("Copy into an emptied store: %v", err)
	}
	wantSame(t, src, dst)
	update(t, dst, func(tx meta.Tx) error {
		seq, err := tx.Events().Append(meta.Event{Type: "next", Time: time.Now()})
		check(t, "Append", err)
		if seq <= 20 {
			t.Errorf("the copy appended event %d: want above its own counter, 20", seq)
		}
		return nil
	})
}
