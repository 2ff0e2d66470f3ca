package bolt

import (
	"encoding/json"
	"errors"
	"fmt"

	bbolt "go.etcd.io/bbolt"

	"github.com/berthreg/berth/meta"
)

// restorer is the meta.Restorer of a transaction.
type restorer struct{ t *tx }

// exists returns the error of a restore that finds what in place.
func exists(what string) error { return fmt.Errorf("meta/bolt: restore %s: %w", what, meta.ErrExists) }

// Repository creates the repository with its recorded creation time.
func (r restorer) Repository(repo meta.Repository) error {
	if err := r.t.writable("restore repository"); err != nil {
		return err
	}
	if repo.Name == "" {
		return errors.New("meta/bolt: restore repository: empty name")
	}
	if _, err := r.t.repo(repo.Name); err == nil {
		return exists(fmt.Sprintf("repository %q", repo.Name))
	}
	return r.t.createRepo(repo)
}

// Blob creates a registry-wide blob record.
func (r restorer) Blob(b meta.Blob) error {
	if err := r.t.writable("restore blob"); err != nil {
		return err
	}
	return putNew(r.t.top(bucketBlobs), b, "blob "+string(b.Digest))
}

// Link links b into repo with b's record.
func (r restorer) Link(repo string, b meta.Blob) error {
	if err := r.t.writable("restore link"); err != nil {
		return err
	}
	lb, err := r.t.repoSub(repo, bucketLinks)
	if err != nil {
		return err
	}
	return putNew(lb, b, fmt.Sprintf("link of %s into %q", b.Digest, repo))
}

// putNew stores blob record b under its digest in bk unless a record is
// there.
func putNew(bk *bbolt.Bucket, b meta.Blob, what string) error {
	if b.Digest == "" {
		return fmt.Errorf("meta/bolt: restore %s: empty digest", what)
	}
	key := digestKey(b.Digest)
	if bk.Get(key) != nil {
		return exists(what)
	}
	raw, err := encodeBlob(b)
	if err == nil {
		err = bk.Put(key, raw)
	}
	if err != nil {
		return fmt.Errorf("meta/bolt: restore %s: %w", what, err)
	}
	return nil
}

// Event stores e under its sequence number and raises the counter.
func (r restorer) Event(e meta.Event) error {
	if err := r.t.writable("restore event"); err != nil {
		return err
	}
	if e.Seq == 0 {
		return errors.New("meta/bolt: restore event: sequence number 0")
	}
	b := r.t.top(bucketEvents)
	key := seqKey(e.Seq)
	if b.Get(key) != nil {
		return exists(fmt.Sprintf("event %d", e.Seq))
	}
	e.Time = e.Time.UTC()
	raw, err := json.Marshal(e)
	if err == nil {
		err = b.Put(key, raw)
	}
	if err == nil {
		err = raise(b, e.Seq)
	}
	if err != nil {
		return fmt.Errorf("meta/bolt: restore event %d: %w", e.Seq, err)
	}
	return nil
}

// Job stores j as it is, with its key, and raises the id counter.
func (r restorer) Job(j meta.Job) error {
	if err := r.t.writable("restore job"); err != nil {
		return err
	}
	if j.ID == 0 || j.Kind == "" {
		return fmt.Errorf("meta/bolt: restore job %d: needs an id and a kind", j.ID)
	}
	q := jobs(r)
	switch {
	case r.t.top(bucketJobs).Get(seqKey(j.ID)) != nil:
		return exists(fmt.Sprintf("job %d", j.ID))
	case j.Key != "" && r.t.top(bucketJobKeys).Get([]byte(j.Key)) != nil:
		return exists(fmt.Sprintf("job key %q", j.Key))
	}
	err := q.write(j)
	if err == nil && j.Key != "" {
		err = r.t.top(bucketJobKeys).Put([]byte(j.Key), seqKey(j.ID))
	}
	if err == nil {
		err = raise(r.t.top(bucketJobs), j.ID)
	}
	if err != nil {
		return fmt.Errorf("meta/bolt: restore job %d: %w", j.ID, err)
	}
	return nil
}

// Tombstone records a tombstone, leaving the blob record alone.
func (r restorer) Tombstone(s meta.Stamp) error {
	if err := r.t.writable("restore tombstone"); err != nil {
		return err
	}
	if s.Digest == "" {
		return errors.New("meta/bolt: restore tombstone: empty digest")
	}
	b := r.t.top(bucketTombstones)
	key := digestKey(s.Digest)
	if b.Get(key) != nil {
		return exists("tombstone " + string(s.Digest))
	}
	raw, _ := json.Marshal(s.At.UTC())
	return b.Put(key, raw)
}

// Sequences raises the events and jobs counters to at least s.
func (r restorer) Sequences(s meta.Sequences) error {
	if err := r.t.writable("restore sequences"); err != nil {
		return err
	}
	if err := raise(r.t.top(bucketEvents), s.Events); err != nil {
		return fmt.Errorf("meta/bolt: restore sequences: %w", err)
	}
	if err := raise(r.t.top(bucketJobs), s.Jobs); err != nil {
		return fmt.Errorf("meta/bolt: restore sequences: %w", err)
	}
	return nil
}

// raise sets b's sequence to n unless it is already at least n.
func raise(b *bbolt.Bucket, n uint64) error {
	if b.Sequence() >= n {
		return nil
	}
	return b.SetSequence(n)
}
