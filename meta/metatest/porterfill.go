package metatest

import (
	"errors"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
)

// The digests Fill links in its tricky ways.
var (
	fillShared     = dg("fill-shared")     // linked into two repositories, with other records
	fillOrphan     = dg("fill-orphan")     // a registry-wide record whose repository was deleted
	fillTombstoned = dg("fill-tombstoned") // tombstoned: its link stays, hidden
	fillRelinked   = dg("fill-relinked")   // tombstoned, then linked again elsewhere
)

// Fill puts into s every kind of data a store keeps, in the ways the
// registry writes it, so that a copy of s can be checked: repositories
// (one empty), image and index manifests with every field, a referrer
// and a dangling subject, tags, sha256, sha512 and literal digests, blob
// links (one shared with another record, one of a tombstoned blob, one of
// a blob linked again after its tombstone), a registry-wide blob whose
// repository is gone, claims, tombstones, upload sessions, an event log
// with purged and rolled-back numbers, cursors, jobs in every state (a
// running lease, a dead letter with given-back attempts, a deleted one),
// records of several kinds (an empty value, a kind emptied again), and an
// active collection. Times are At(n).
func Fill(t *testing.T, s meta.Store) {
	t.Helper()
	fillRegistry(t, s)
	fillEvents(t, s)
	fillJobs(t, s)
	update(t, s, func(tx meta.Tx) error {
		check(t, "Cursors.Put", tx.Cursors().Put(meta.Cursor{Name: "webhook", Seq: 4, UpdatedAt: at(10)}))
		check(t, "Cursors.Put", tx.Cursors().Put(meta.Cursor{Name: "replication ✓", Seq: 1, UpdatedAt: at(11)}))
		check(t, "Uploads.Put", tx.Uploads().Put(meta.Upload{ID: "u1", Repository: "lib/app", Offset: 1024,
			HashState: []byte{0, 1, 2, 255}, DriverState: []byte(`{"uploadId":"x"}`), StartedAt: at(20), UpdatedAt: at(21)}))
		check(t, "Uploads.Put", tx.Uploads().Put(meta.Upload{ID: "u2", Repository: "lib/other", StartedAt: at(22), UpdatedAt: at(22)}))
		for _, r := range []struct{ kind, key, value string }{
			{"projects", "lib", `{"name":"lib","public":true}`},
			{"projects", "team", `{"name":"team"}`},
			{"settings", "empty", ""},
			{"settings", "unicode ✓", "\x00\xff binary"},
			{"gone", "x", "y"},
		} {
			check(t, "Records.Put", tx.Records(r.kind).Put(r.key, []byte(r.value)))
		}
		check(t, "Records.Delete", tx.Records("gone").Delete("x"))
		c := tx.Collector()
		check(t, "Claim", c.Claims().Claim(dg("fill-claim-1"), at(40)))
		check(t, "Claim", c.Claims().Claim(sha512Digest("fill-claim-2"), at(41)))
		check(t, "Begin", c.Collection().Begin(at(50)))
		return nil
	})
}

// fillRegistry writes the repositories, manifests, tags, blobs, links
// and tombstones of Fill.
func fillRegistry(t *testing.T, s meta.Store) {
	a := image("fill-a", "")
	referrer := image("fill-referrer", a.Digest)
	index := meta.Manifest{Digest: dg("fill-index"), MediaType: "application/vnd.oci.image.index.v1+json", Size: 300,
		Manifests: []meta.Descriptor{{MediaType: a.MediaType, Digest: a.Digest, Size: a.Size}}, PushedAt: at(3)}
	full := fullManifest() // its subject is no manifest of the repository
	wide := image("fill-sha512", "")
	wide.Digest = sha512Digest("fill-sha512")
	literal := digest.SHA384.FromString("fill-literal") // kept as a string, not in the compact form
	update(t, s, func(tx meta.Tx) error {
		ensure(t, tx, "lib/app", "lib/other", "empty/repo", "gone/repo")
		putManifests(t, tx, "lib/app", a, referrer, index, full)
		putTags(t, tx, "lib/app", a.Digest, "v1", "latest")
		putTags(t, tx, "lib/app", index.Digest, "multi")
		putManifests(t, tx, "lib/other", wide)
		putTags(t, tx, "lib/other", wide.Digest, "x")
		b := tx.Blobs()
		for _, l := range []struct {
			repo string
			blob meta.Blob
		}{
			{"lib/app", meta.Blob{Digest: a.Config.Digest, Size: 2, CreatedAt: at(30)}},
			{"lib/app", meta.Blob{Digest: fillShared, Size: 7, CreatedAt: at(31)}},
			{"lib/other", meta.Blob{Digest: fillShared, Size: 7, CreatedAt: at(32)}},
			{"lib/other", meta.Blob{Digest: sha512Digest("fill-blob"), Size: 5, CreatedAt: at(33)}},
			{"lib/other", meta.Blob{Digest: literal, Size: 6, CreatedAt: at(33)}},
			{"gone/repo", meta.Blob{Digest: fillOrphan, Size: 8, CreatedAt: at(33)}},
			{"lib/app", meta.Blob{Digest: fillTombstoned, Size: 9, CreatedAt: at(34)}},
			{"lib/app", meta.Blob{Digest: fillRelinked, Size: 10, CreatedAt: at(36)}},
		} {
			check(t, "Blobs.Link", b.Link(l.repo, l.blob))
		}
		check(t, "Repositories.Delete", tx.Repositories().Delete("gone/repo"))
		ts := tx.Collector().Tombstones()
		check(t, "Tombstone", ts.Tombstone(fillTombstoned, at(35)))
		check(t, "Tombstone", ts.Tombstone(fillRelinked, at(37)))
		check(t, "Blobs.Link", b.Link("lib/other", meta.Blob{Digest: fillRelinked, Size: 10, CreatedAt: at(38)}))
		return nil
	})
}

// fillEvents appends events, rolls one back and purges the oldest two.
func fillEvents(t *testing.T, s meta.Store) {
	types := []string{"CREATE_PROJECT", "PUSH_ARTIFACT", "PUSH_ARTIFACT", "DELETE_TAG", "PULL_ARTIFACT", "LOGIN"}
	update(t, s, func(tx meta.Tx) error {
		for i, typ := range types {
			_, err := tx.Events().Append(meta.Event{Type: typ, Time: at(i), Operator: "alice", Project: "lib",
				Repository: "lib/app", Digest: dg("fill-a").String(), Tag: "v1", Size: int64(i),
				Details: map[string]string{"i": string(rune('a' + i))}})
			check(t, "Append", err)
		}
		return nil
	})
	boom := errors.New("rolled back on purpose")
	if err := s.Update(t.Context(), func(tx meta.Tx) error {
		_, err := tx.Events().Append(meta.Event{Type: "NEVER"})
		check(t, "Append", err)
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("Update: %v", err)
	}
	update(t, s, func(tx meta.Tx) error {
		_, err := tx.Events().Append(meta.Event{Type: "LOGIN", Time: at(9), Result: "failure", Resource: "mallory"})
		check(t, "Append", err)
		_, err = tx.Events().Append(meta.Event{Type: "DELETE_REPOSITORY", Time: at(10)})
		check(t, "Append", err)
		n, err := tx.Events().Purge(at(2), ^uint64(0), 0)
		check(t, "Purge", err)
		if n != 2 {
			t.Fatalf("Purge removed %d events, want 2", n)
		}
		return nil
	})
}

// fillJobs enqueues jobs and takes them to every state.
func fillJobs(t *testing.T, s meta.Store) {
	now := at(60)
	update(t, s, func(tx meta.Tx) error {
		q := tx.Jobs()
		enqueue := func(j meta.Job) meta.Job {
			t.Helper()
			j, err := q.Enqueue(j, now)
			check(t, "Enqueue", err)
			return j
		}
		enqueue(meta.Job{Kind: "mail", Key: "cron:mail:1", Payload: []byte(`{"to":"x"}`), MaxAttempts: 5}) // leased below
		enqueue(meta.Job{Kind: "scan", RunAt: now.Add(time.Hour)})
		done := enqueue(meta.Job{Kind: "gc"})
		dead := enqueue(meta.Job{Kind: "webhook.deliver", Key: "delivery:7", MaxAttempts: 3})
		canceled := enqueue(meta.Job{Kind: "mail"})
		deleted := enqueue(meta.Job{Kind: "tmp"})
		last := enqueue(meta.Job{Kind: "tmp"}) // deleted too: the counter stays above every id kept
		if _, err := q.Lease([]string{"mail"}, nil, "worker-1", now, now.Add(time.Minute)); err != nil {
			t.Fatalf("Lease: %v", err)
		}
		done.State, done.Attempts, done.Result, done.FinishedAt, done.UpdatedAt = meta.JobSucceeded, 1, []byte(`{"freed":3}`), at(61), at(61)
		check(t, "Jobs.Put", q.Put(done))
		dead.State, dead.Attempts, dead.GivenBack, dead.LastError, dead.FinishedAt = meta.JobDead, 3, 2, "http 500", at(62)
		check(t, "Jobs.Put", q.Put(dead))
		canceled.State, canceled.FinishedAt = meta.JobCanceled, at(63)
		check(t, "Jobs.Put", q.Put(canceled))
		check(t, "Jobs.Delete", q.Delete(deleted.ID))
		check(t, "Jobs.Delete", q.Delete(last.ID))
		return nil
	})
}
