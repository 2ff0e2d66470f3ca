package meta

import (
	"errors"
	"time"

	"github.com/opencontainers/go-digest"
)

// ErrExists reports a Restorer write of something the store already
// holds: a repository, blob, link, event, job (id or key) or tombstone.
var ErrExists = errors.New("meta: already exists")

// Porter is an optional interface a Tx may implement (check with a type
// assertion, tx.(meta.Porter)) so that a whole store can be copied to
// another backend (meta/metacopy) and the copy verified. Tx's views show
// what the registry needs; a copy needs more: the record kinds, every
// repository's blob links (also those of tombstoned blobs), claims and
// tombstones with their times, and the counters that number events and
// jobs (Dumper); and writes that keep a record exactly as read, times,
// ids and sequence numbers included (Restorer). meta/bolt and
// meta/postgres implement it; meta/metatest.RunPorter checks an
// implementation.
type Porter interface {
	// Dump returns the reads a copy needs beyond Tx's views.
	Dump() Dumper
	// Restore returns the writes that keep records exactly as read;
	// inside a View every call fails with ErrReadOnly.
	Restore() Restorer
}

// Dumper reads what Tx's views do not show.
type Dumper interface {
	// Kinds returns the record kinds (Tx.Records) that hold at least one
	// record, in lexical order.
	Kinds() ([]string, error)
	// Links returns up to limit blob links of repo with digests after
	// "after", in lexical order (limit <= 0: no limit), each with the
	// record it was linked with, whether or not the blob still has a
	// registry-wide record (Blobs.Linked hides tombstoned ones).
	// ErrNotFound if repo does not exist.
	Links(repo string, after digest.Digest, limit int) ([]Blob, error)
	// Claims returns up to limit claimed digests after "after", in lexical
	// order, with the times they were claimed.
	Claims(after digest.Digest, limit int) ([]Stamp, error)
	// Tombstones returns up to limit tombstoned digests after "after", in
	// lexical order, with the times they were tombstoned.
	Tombstones(after digest.Digest, limit int) ([]Stamp, error)
	// Sequences returns the highest event sequence number and job id the
	// store has handed out (purged events and deleted jobs included).
	Sequences() (Sequences, error)
}

// Restorer writes records exactly as a Dumper and Tx's views read them.
// Each write returns ErrExists (wrapped) and changes nothing when the
// store already holds what it would create, and the transaction goes on.
// What Tx's views already write exactly (manifests, tags, uploads,
// cursors, records, claims) is restored through them.
type Restorer interface {
	// Repository creates the repository r with r.CreatedAt.
	Repository(r Repository) error
	// Blob creates the registry-wide record b, linked nowhere.
	Blob(b Blob) error
	// Link links b into repo with b's record, leaving the registry-wide
	// record alone. ErrNotFound if repo does not exist.
	Link(repo string, b Blob) error
	// Event stores e under e.Seq (which must not be 0), and raises the
	// store's event counter to at least e.Seq. Once the transaction has
	// committed, Events.List reads the restored events past the numbers
	// missing between them, as gaps that are settled.
	Event(e Event) error
	// Job stores j as it is (id, state, attempts, lease and times), and
	// raises the job id counter to at least j.ID. ErrExists also when
	// another job holds j.Key.
	Job(j Job) error
	// Tombstone records that s.Digest's bytes are being deleted since
	// s.At, leaving the registry-wide blob record alone (Tombstones'
	// Tombstone deletes it).
	Tombstone(s Stamp) error
	// Sequences raises the store's counters to at least s, so that the
	// store numbers new events and jobs above everything copied: a
	// counter is never lowered.
	Sequences(s Sequences) error
}

// Stamp is a digest with a time: when it was claimed or tombstoned.
type Stamp struct {
	Digest digest.Digest `json:"digest"`
	At     time.Time     `json:"at"`
}

// Sequences are a store's counters: the highest numbers handed out.
type Sequences struct {
	// Events is the highest event sequence number (Event.Seq).
	Events uint64 `json:"events"`
	// Jobs is the highest job id (Job.ID).
	Jobs uint64 `json:"jobs"`
}
