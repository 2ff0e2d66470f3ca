package metatest

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/metacopy"
)

// RunPorter runs the suite of meta.Porter against the backend open
// builds: what Dumper reads, Restorer's exact writes and their
// conflicts, restored events read past their gaps, and whole copies
// (meta/metacopy) of a store Fill filled into another of the backend and
// back, checked with metacopy.Compare and by reading the copies.
//
// open must return a new, empty store on every call; the suite closes the
// stores it opened when the subtest ends.
func RunPorter(t *testing.T, open func(t *testing.T) meta.Store) {
	t.Helper()
	open = closing(open)
	for _, c := range porterCases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, open) })
	}
	t.Run("Copy", func(t *testing.T) { testCopy(t, open, open) })
}

// RunPorterAcross copies a store of one backend (from), filled by Fill,
// into a store of another (to) and back into one of from, and checks both
// copies as RunPorter does.
func RunPorterAcross(t *testing.T, from, to func(t *testing.T) meta.Store) {
	t.Helper()
	testCopy(t, closing(from), closing(to))
}

// closing wraps open so that each store is closed when its test ends.
func closing(open func(t *testing.T) meta.Store) func(t *testing.T) meta.Store {
	return func(t *testing.T) meta.Store {
		t.Helper()
		s := open(t)
		if s == nil {
			t.Fatal("open returned nil")
		}
		if _, ok := tx(t, s).(meta.Porter); !ok {
			t.Fatalf("the transactions of %T do not implement meta.Porter", s)
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return s
	}
}

// tx returns the Tx of a View of s, for its type only.
func tx(t *testing.T, s meta.Store) meta.Tx {
	var out meta.Tx
	view(t, s, func(tx meta.Tx) error { out = tx; return nil })
	return out
}

// porterCases lists the subtests of RunPorter before its copies.
var porterCases = []struct {
	name string
	fn   func(*testing.T, func(*testing.T) meta.Store)
}{
	{"Dump", testDump},
	{"Restore/Conflicts", testRestoreConflicts},
	{"Restore/ReadOnly", testRestoreReadOnly},
	{"Restore/EventGaps", testRestoreEventGaps},
	{"Copy/NotEmpty", testCopyNotEmpty},
	{"Copy/IntoUsedStore", testCopyIntoUsedStore},
}

// porter returns tx's Porter.
func porter(tx meta.Tx) meta.Porter { return tx.(meta.Porter) }

// testCopy copies a filled store of from into one of to, that copy into
// another of from, and checks both.
func testCopy(t *testing.T, from, to func(*testing.T) meta.Store) {
	src := from(t)
	Fill(t, src)
	dst := to(t)
	counts, err := metacopy.Copy(t.Context(), dst, src, metacopy.WithBatchSize(3))
	check(t, "Copy", err)
	want := metacopy.Counts{"repositories": 3, "manifests": 5, "tags": 4, "links": 8, "blobs": 6, "tombstones": 2,
		"claims": 2, "uploads": 2, "events": 6, "cursors": 2, "jobs": 5, "records": 4}
	if !maps.Equal(counts, want) {
		t.Errorf("Copy counted %v\nwant %v", counts, want)
	}
	wantSame(t, src, dst)
	back := from(t)
	if _, err := metacopy.Copy(t.Context(), back, dst); err != nil {
		t.Fatalf("Copy back: %v", err)
	}
	wantSame(t, src, back)
	for _, c := range []struct {
		name string
		s    meta.Store
	}{{"copy", dst}, {"copy of the copy", back}} {
		t.Run(c.name, func(t *testing.T) { checkCopy(t, src, c.s) })
	}
}

// wantSame fails the test if Compare finds differences between a and b.
func wantSame(t *testing.T, a, b meta.Store) {
	t.Helper()
	diffs, err := metacopy.Compare(t.Context(), a, b)
	check(t, "Compare", err)
	for _, d := range diffs {
		t.Errorf("difference: %s", d)
	}
}

// checkCopy reads what Fill wrote back from the copy c of src, without
// Compare, then writes to c as the registry would.
func checkCopy(t *testing.T, src, c meta.Store) {
	a, referrer, full := image("fill-a", ""), image("fill-referrer", dg("fill-a")), fullManifest()
	view(t, c, func(tx meta.Tx) error {
		d := porter(tx).Dump()
		links, err := d.Links("lib/app", "", 0)
		check(t, "Links", err)
		wantBlobs(t, "the links of lib/app", links, byDigest([]meta.Blob{
			{Digest: fillShared, Size: 7, CreatedAt: at(31)}, {Digest: fillRelinked, Size: 10, CreatedAt: at(36)},
			{Digest: fillTombstoned, Size: 9, CreatedAt: at(34)}, {Digest: a.Config.Digest, Size: 2, CreatedAt: at(30)},
		}, func(b meta.Blob) digest.Digest { return b.Digest }))
		if _, err := tx.Blobs().Linked("lib/app", fillTombstoned); !errors.Is(err, meta.ErrNotFound) {
			t.Errorf("the link of a tombstoned blob reads %v, want ErrNotFound", err)
		}
		for dgst, want := range map[digest.Digest]time.Time{fillOrphan: at(33), fillRelinked: at(38)} {
			b, err := tx.Blobs().Stat(dgst)
			if err != nil || !b.CreatedAt.Equal(want) {
				t.Errorf("Stat(%s) = %+v, %v; want created %v", dgst, b, err, want)
			}
		}
		stones, err := d.Tombstones("", 0)
		check(t, "Tombstones", err)
		wantStamps(t, "tombstones", stones, byDigest([]meta.Stamp{
			{Digest: fillRelinked, At: at(37)}, {Digest: fillTombstoned, At: at(35)},
		}, func(s meta.Stamp) digest.Digest { return s.Digest }))
		if at40, ok, err := tx.Collector().Claims().Claimed(dg("fill-claim-1")); err != nil || !ok || !at40.Equal(at(40)) {
			t.Errorf("Claimed = %v, %v, %v; want %v", at40, ok, err, at(40))
		}
		refs, err := tx.Manifests().Referrers("lib/app", a.Digest)
		check(t, "Referrers", err)
		wantManifests(t, "the referrers of fill-a", refs, []meta.Manifest{referrer})
		refs, err = tx.Manifests().Referrers("lib/app", full.Subject)
		check(t, "Referrers", err)
		wantManifests(t, "the referrers of a subject that is no manifest", refs, []meta.Manifest{full})
		of, err := tx.Tags().Of("lib/app", a.Digest)
		check(t, "Tags.Of", err)
		wantStrings(t, "the tags of fill-a", of, []string{"latest", "v1"})
		kinds, err := d.Kinds()
		check(t, "Kinds", err)
		wantStrings(t, "record kinds", kinds, []string{"projects", "settings"})
		if v, err := tx.Records("settings").Get("empty"); err != nil || len(v) != 0 {
			t.Errorf("the empty record reads %q, %v", v, err)
		}
		since, active, err := tx.Collector().Collection().Active()
		if err != nil || !active || !since.Equal(at(50)) {
			t.Errorf("collection active %v since %v (%v): want active since %v", active, since, err, at(50))
		}
		return nil
	})
	checkCopiedLog(t, src, c)
}

// checkCopiedLog checks that c holds the events and jobs of src, that a
// consumer reads every event from the start, and that c numbers new
// events and jobs above src's, with the job queue's indexes in place.
func checkCopiedLog(t *testing.T, src, c meta.Store) {
	var srcEvents []meta.Event
	var srcJobs []meta.Job
	var seqs meta.Sequences
	view(t, src, func(tx meta.Tx) error {
		p, err := tx.Events().Backward(0, 0, 0, nil)
		check(t, "Backward", err)
		srcEvents = p.Events
		srcJobs, err = tx.Jobs().List(meta.JobFilter{}, 0, 0)
		check(t, "Jobs.List", err)
		seqs, err = porter(tx).Dump().Sequences()
		check(t, "Sequences", err)
		return nil
	})
	if len(srcEvents) != 6 || len(srcJobs) != 5 {
		t.Fatalf("the source holds %d events and %d jobs, want 6 and 5", len(srcEvents), len(srcJobs))
	}
	viewSettled(t, c, "the copied event log", func(tx meta.Tx) (bool, error) {
		all, err := tx.Events().List(0, 0)
		if err != nil || len(all) < len(srcEvents) {
			return false, err
		}
		for i, e := range all {
			if want := srcEvents[len(srcEvents)-1-i]; !sameRecord(e, want) {
				t.Errorf("event %d of the copy:\n got %+v\nwant %+v", i, e, want)
			}
		}
		last, err := tx.Events().Last()
		if err == nil && last != srcEvents[0].Seq {
			t.Errorf("Last = %d, want %d", last, srcEvents[0].Seq)
		}
		for _, j := range srcJobs {
			got, err := tx.Jobs().Get(j.ID)
			if err != nil || !sameRecord(got, j) {
				t.Errorf("job %d of the copy:\n got %+v (%v)\nwant %+v", j.ID, got, err, j)
			}
		}
		return true, err
	})
	update(t, c, func(tx meta.Tx) error {
		seq, err := tx.Events().Append(meta.Event{Type: "AFTER_COPY"})
		check(t, "Append", err)
		if seq <= seqs.Events {
			t.Errorf("the copy appended event %d: want above the source's counter %d", seq, seqs.Events)
		}
		j, err := tx.Jobs().Enqueue(meta.Job{Kind: "after"}, at(60))
		check(t, "Enqueue", err)
		if j.ID <= seqs.Jobs {
			t.Errorf("the copy enqueued job %d: want above the source's counter %d", j.ID, seqs.Jobs)
		}
		if _, err := tx.Jobs().Enqueue(meta.Job{Kind: "mail", Key: "cron:mail:1"}, at(60)); !errors.Is(err, meta.ErrDuplicate) {
			t.Errorf("a job with a copied job's key: %v, want ErrDuplicate", err)
		}
		// The running job's lease expires at At(60)+1m: then it is taken over.
		got, err := tx.Jobs().Lease([]string{"mail"}, nil, "worker-2", at(60).Add(2*time.Minute), at(60).Add(3*time.Minute))
		check(t, "Lease", err)
		if got.Key != "cron:mail:1" || got.Attempts != 2 {
			t.Errorf("after the copy, Lease took %+v: want the expired lease of cron:mail:1, attempt 2", got)
		}
		return nil
	})
	viewSettled(t, c, "the event appended after the copy", func(tx meta.Tx) (bool, error) {
		es, err := tx.Events().List(srcEvents[0].Seq, 0)
		return len(es) == 1 && es[0].Type == "AFTER_COPY", err
	})
}

// wantBlobs fails the test unless got equals want.
func wantBlobs(t *testing.T, what string, got, want []meta.Blob) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %+v, want %+v", what, got, want)
		return
	}
	for i := range got {
		wantBlob(t, what, got[i], want[i])
	}
}

// wantStamps fails the test unless got equals want.
func wantStamps(t *testing.T, what string, got, want []meta.Stamp) {
	t.Helper()
	wantBlobs(t, what, stampBlobs(got), stampBlobs(want))
}

// stampBlobs returns ss as blob records: digest and time.
func stampBlobs(ss []meta.Stamp) []meta.Blob {
	out := make([]meta.Blob, len(ss))
	for i, s := range ss {
		out[i] = meta.Blob{Digest: s.Digest, CreatedAt: s.At}
	}
	return out
}

// byDigest sorts xs by the digest of each, as listings return them.
func byDigest[T any](xs []T, d func(T) digest.Digest) []T {
	slices.SortFunc(xs, func(a, b T) int { return strings.Compare(string(d(a)), string(d(b))) })
	return xs
}
