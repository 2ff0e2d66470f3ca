package bolt

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	bbolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/berthreg/berth/meta"
)

// Errors specific to this backend (meta.ErrNotFound and meta.ErrReadOnly are
// returned, wrapped, as the meta contract says).
var (
	// ErrClosed reports a transaction started on a closed Store.
	ErrClosed = errors.New("meta/bolt: store is closed")
	// ErrTxDone reports a transaction view used after the function it was
	// handed to has returned.
	ErrTxDone = errors.New("meta/bolt: transaction has ended")
	// ErrLocked reports that Open timed out waiting for another process to
	// release the database file.
	ErrLocked = errors.New("meta/bolt: database file is locked by another process")
	// ErrUnsupportedLayout reports a file written with a layout version this
	// build cannot read, such as one from an earlier release.
	ErrUnsupportedLayout = errors.New("meta/bolt: unsupported layout version")
)

// schemaVersion is the layout version written into new files; Open
// upgrades files of version 2 in place (upgradeV2) and refuses any other
// version. Version 1 stored JSON records and string digests; version 2
// stores the binary records of codec.go and the compact digests of
// digests.go; version 3 adds the artifact index, the parent links and
// the counters (artifacts.go).
const schemaVersion = "3"

// upgradableVersion is the layout version Open upgrades to schemaVersion.
const upgradableVersion = "2"

// layoutHints explains, in Open's error, where a file of an older layout
// version comes from.
var layoutHints = map[string]string{
	"1": " (version 1 files hold JSON records written by earlier releases; this build has no in-place upgrade for them)",
}

// Store is a meta.Store kept in one bbolt file. It is safe for concurrent
// use.
type Store struct {
	db *bbolt.DB

	// mu guards the group-commit queue (see batch.go).
	mu      sync.Mutex
	queue   []*call
	leading bool
	stats   counters
}

var _ meta.Store = (*Store)(nil)

// Open opens (creating if needed) the store at path. It fails with ErrLocked
// if another process holds the file longer than the Timeout option allows.
func Open(path string, opts ...Option) (*Store, error) {
	o := options{timeout: DefaultTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	// The freelist is not written on every commit (etcd's choice): commits
	// write fewer pages, and Open rebuilds the list by scanning the file.
	bo := &bbolt.Options{Timeout: o.timeout, NoSync: o.noSync, NoFreelistSync: true, FreelistType: bbolt.FreelistMapType}
	if o.timeout <= 0 {
		bo.Timeout = 0
	}
	db, err := bbolt.Open(path, 0o600, bo)
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, path)
		}
		return nil, fmt.Errorf("meta/bolt: open %s: %w", path, err)
	}
	if err := db.Update(initSchema); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("meta/bolt: open %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// initSchema creates the top-level buckets of a new file and checks the
// layout version of an existing one.
func initSchema(btx *bbolt.Tx) error {
	sb, err := btx.CreateBucketIfNotExists(bucketSchema)
	if err != nil {
		return err
	}
	v := sb.Get(keyVersion)
	switch {
	case v == nil, string(v) == schemaVersion, string(v) == upgradableVersion:
	default:
		return fmt.Errorf("%w %q: this build reads only version %q (and upgrades version %q in place)%s",
			ErrUnsupportedLayout, v, schemaVersion, upgradableVersion, layoutHints[string(v)])
	}
	upgrade := string(v) == upgradableVersion
	for _, name := range [][]byte{bucketRepos, bucketBlobs, bucketUploads, bucketRepoCounts,
		bucketEvents, bucketCursors, bucketJobs, bucketJobsActive, bucketJobKeys,
		bucketGC, bucketTouched, bucketClaims, bucketTombstones, bucketRecords} {
		if _, err := btx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	if upgrade {
		if err := upgradeV2(btx); err != nil {
			return err
		}
	}
	if v == nil || upgrade {
		if err := sb.Put(keyVersion, []byte(schemaVersion)); err != nil {
			return err
		}
	}
	if err := rekeyWebhookPolicies(btx); err != nil {
		return err
	}
	return moveLegacyRecords(btx)
}

// View runs fn in a read-only transaction on a consistent snapshot. Writes
// attempted through its views return an error wrapping meta.ErrReadOnly.
func (s *Store) View(ctx context.Context, fn func(meta.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.run(s.db.View, fn)
}

// Update runs fn in a read-write transaction and commits it (with fsync,
// unless NoSync was given) if fn returns nil; otherwise it rolls back and
// returns fn's error. Concurrent Updates are group-committed: they share one
// transaction and one fsync, and if any of them fails all are rolled back and
// re-run one by one, so fn may run twice. A caller still queued when ctx is
// done gives up with ctx's error without fn running.
func (s *Store) Update(ctx context.Context, fn func(meta.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.update(ctx, fn)
}

// run hands fn a tx wrapping the bbolt transaction started by begin and
// marks the tx done when fn returns (or panics).
func (s *Store) run(begin func(func(*bbolt.Tx) error) error, fn func(meta.Tx) error) error {
	err := begin(func(btx *bbolt.Tx) error {
		t := &tx{btx: btx}
		defer t.done.Store(true)
		return fn(t)
	})
	return s.wrapErr(err)
}

// wrapErr marks errors of a closed database with ErrClosed.
func (s *Store) wrapErr(err error) error {
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return err
}

// Close waits for running transactions to finish and closes the file.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("meta/bolt: close: %w", err)
	}
	return nil
}

// tx is the meta.Tx of one bbolt transaction.
type tx struct {
	btx  *bbolt.Tx
	done atomic.Bool
}

// Repositories returns the repository catalog view of the transaction.
func (t *tx) Repositories() meta.Repositories { return repositories{t} }

// Manifests returns the manifests view of the transaction.
func (t *tx) Manifests() meta.Manifests { return manifests{t} }

// Tags returns the tags view of the transaction.
func (t *tx) Tags() meta.Tags { return tags{t} }

// Blobs returns the blobs view of the transaction.
func (t *tx) Blobs() meta.Blobs { return blobs{t} }

// Uploads returns the upload sessions view of the transaction.
func (t *tx) Uploads() meta.Uploads { return uploads{t} }
