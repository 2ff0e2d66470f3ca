package gc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry/naming"
	"github.com/berthreg/berth/storage"
)

// batchSize bounds the deletions per metadata transaction.
const batchSize = 100

// Report is what a collection did, or, dry, would do.
type Report struct {
	// DryRun is set when nothing was deleted.
	DryRun bool `json:"dryRun"`
	// Started and Finished bound the run.
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// Plan is what the mark phase found.
	Plan Plan `json:"plan"`
	// Deleted counts what was deleted: manifests, blobs (records and
	// bytes), upload sessions and orphan objects (bytes in storage the
	// metadata did not know).
	DeletedManifests int `json:"deletedManifests"`
	DeletedBlobs     int `json:"deletedBlobs"`
	AbortedUploads   int `json:"abortedUploads"`
	DeletedOrphans   int `json:"deletedOrphans"`
	// Skipped counts candidates found in use when swept (pushed, linked or
	// claimed after the mark).
	Skipped int `json:"skipped"`
	// FreedBytes is the storage freed (or, dry, that would be).
	FreedBytes int64 `json:"freedBytes"`
}

// Collector runs collections over a metadata store and the blob storage.
// Make one with NewCollector.
type Collector struct {
	store    meta.Store
	driver   storage.Driver
	progress func(Progress)
	now      func() time.Time
}

// CollectorOption configures a Collector made by NewCollector.
type CollectorOption func(*Collector)

// WithProgress makes the collector tell f where a run is: at each phase
// and after each batch.
func WithProgress(f func(Progress)) CollectorOption {
	return func(c *Collector) { c.progress = f }
}

// NewCollector returns a collector over store (the metadata) and driver
// (the blob storage).
func NewCollector(store meta.Store, driver storage.Driver, opts ...CollectorOption) (*Collector, error) {
	switch {
	case store == nil:
		return nil, errors.New("gc: NewCollector: nil store")
	case driver == nil:
		return nil, errors.New("gc: NewCollector: nil driver")
	}
	c := &Collector{store: store, driver: driver}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// Progress is where a run is.
type Progress struct {
	// Phase is "mark", "manifests", "blobs", "uploads" or "orphans"
	// while a run goes; a Job's final Progress says "done" or "failed".
	Phase string `json:"phase"`
	// Done and Total count the phase's candidates.
	Done  int `json:"done"`
	Total int `json:"total"`
	// Report is the run's report so far.
	Report Report `json:"report"`
	// ETA estimates the rest of the phase from its pace so far.
	ETA time.Duration `json:"eta"`
}

// phase tracks one phase's progress.
type phase struct {
	c       *Collector
	name    string
	total   int
	started time.Time
	rep     *Report
}

func (c *Collector) phase(name string, total int, rep *Report) *phase {
	p := &phase{c: c, name: name, total: total, started: c.clock(), rep: rep}
	p.report(0)
	return p
}

// report tells Progress that done of the phase's total are through.
func (p *phase) report(done int) {
	if p.c.progress == nil {
		return
	}
	var eta time.Duration
	if done > 0 && done < p.total {
		eta = time.Duration(float64(p.c.clock().Sub(p.started)) / float64(done) * float64(p.total-done))
	}
	p.c.progress(Progress{Phase: p.name, Done: done, Total: p.total, Report: *p.rep, ETA: eta})
}

func (c *Collector) clock() time.Time {
	if c.now != nil {
		return c.now()
	}
	return time.Now()
}

// Run collects: it finishes what a crashed run left (tombstones), marks
// with the collection active so that pushes meanwhile are seen, and sweeps
// untagged manifests, unreferenced blobs, idle upload sessions and orphan
// objects, each re-checked in the transaction that deletes it. With
// opts.DryRun it returns the plan and deletes nothing.
func (c *Collector) Run(ctx context.Context, opts Options) (Report, error) {
	rep := Report{DryRun: opts.DryRun, Started: c.clock().UTC()}
	if !opts.DryRun {
		if err := c.buryLeftovers(ctx, &rep); err != nil {
			return rep, err
		}
		if err := c.store.Update(ctx, func(tx meta.Tx) error { return tx.Collector().Collection().Begin(c.clock()) }); err != nil {
			return rep, err
		}
		defer func() {
			_ = c.store.Update(context.WithoutCancel(ctx), func(tx meta.Tx) error { return tx.Collector().Collection().End() })
		}()
	}
	now := c.clock()
	c.phase("mark", 0, &rep)
	plan, err := MakePlan(ctx, c.store, opts, now)
	if err != nil {
		return rep, err
	}
	rep.Plan = plan
	if opts.DryRun {
		rep.FreedBytes = plan.Bytes()
		rep.Finished = c.clock().UTC()
		return rep, nil
	}
	for _, step := range []func(context.Context, Options, *Report) error{c.sweepManifests, c.sweepBlobs, c.sweepUploads, c.sweepOrphans} {
		if err := step(ctx, opts, &rep); err != nil {
			return rep, err
		}
	}
	rep.Finished = c.clock().UTC()
	return rep, nil
}

// claimedRecently reports a live claim: one younger than the upload
// timeout (older ones were left by a crash).
func claimedRecently(tx meta.Tx, d digest.Digest, now time.Time, opts Options) (bool, error) {
	at, ok, err := tx.Collector().Claims().Claimed(d)
	return ok && now.Sub(at) < opts.uploadTimeout(), err
}

// sweepManifests deletes the planned manifests still untagged and not
// referenced since the mark; a manifest's bytes go when no repository
// keeps it.
func (c *Collector) sweepManifests(ctx context.Context, opts Options, rep *Report) error {
	gone := map[digest.Digest]int64{}
	kept := map[digest.Digest]bool{} // planned somewhere but found in use when swept
	ph := c.phase("manifests", len(rep.Plan.Manifests), rep)
	for start := 0; start < len(rep.Plan.Manifests); start += batchSize {
		batch := rep.Plan.Manifests[start:min(start+batchSize, len(rep.Plan.Manifests))]
		var deleted []ManifestRef
		err := c.store.Update(ctx, func(tx meta.Tx) error {
			deleted = deleted[:0]
			for _, m := range batch {
				ok, err := c.manifestGoes(tx, m)
				if err != nil {
					return err
				}
				if !ok {
					continue
				}
				if err := tx.Manifests().Delete(m.Repository, m.Digest); err != nil {
					return err
				}
				deleted = append(deleted, m)
			}
			return nil
		})
		if err != nil {
			return err
		}
		rep.Skipped += len(batch) - len(deleted)
		rep.DeletedManifests += len(deleted)
		for _, m := range batch {
			if !slices.Contains(deleted, m) {
				kept[m.Digest] = true
			}
		}
		for _, m := range deleted {
			gone[m.Digest] = m.Size
		}
		ph.report(start + len(batch))
	}
	// Their bytes, when no repository has the manifest any more: every
	// manifest of the mark was either kept (marked used) or planned, and
	// one planned but found in use is kept; one pushed or tagged since is
	// touched, which deleteBytes checks.
	var ds []digest.Digest
	for d := range gone {
		if !rep.Plan.used[d] && !kept[d] {
			ds = append(ds, d)
		}
	}
	_, err := c.deleteBytes(ctx, opts, rep, nil, ds, func(tx meta.Tx, d digest.Digest) (bool, error) {
		_, err := tx.Blobs().Stat(d) // also a blob (pushed as one): the blob phase decides
		if errors.Is(err, meta.ErrNotFound) {
			return true, nil
		}
		return false, err
	}, func(d digest.Digest) int64 { return gone[d] })
	return err
}

// unknownBytes reports content-addressed bytes the metadata does not
// know: no blob record, no repository with a manifest of that digest.
func (c *Collector) unknownBytes(tx meta.Tx, d digest.Digest) (bool, error) {
	if _, err := tx.Blobs().Stat(d); err == nil {
		return false, nil
	} else if !errors.Is(err, meta.ErrNotFound) {
		return false, err
	}
	return c.manifestUnused(tx, d)
}

// manifestGoes re-checks a planned manifest in the deleting transaction.
func (c *Collector) manifestGoes(tx meta.Tx, m ManifestRef) (bool, error) {
	if _, err := tx.Manifests().Get(m.Repository, m.Digest); errors.Is(err, meta.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if touched, err := tx.Collector().Collection().Touched(m.Digest); err != nil || touched {
		return false, err // re-pushed, or referenced by a new index or referrer
	}
	tags, err := tx.Tags().Of(m.Repository, m.Digest)
	if err != nil {
		return false, err
	}
	// Only attachment tags (cosign's legacy scheme) whose subject is gone.
	for _, tag := range tags {
		subject, ok := naming.AttachmentSubject(tag)
		if !ok {
			return false, nil
		}
		if _, err := tx.Manifests().Get(m.Repository, subject); err == nil {
			return false, nil
		} else if !errors.Is(err, meta.ErrNotFound) {
			return false, err
		}
	}
	return true, nil
}

// manifestUnused reports that no repository has manifest d.
func (c *Collector) manifestUnused(tx meta.Tx, d digest.Digest) (bool, error) {
	unused := true
	after := ""
	for unused {
		names, err := tx.Repositories().List(after, pageSize)
		if err != nil {
			return false, err
		}
		for _, r := range names {
			if _, err := tx.Manifests().Get(r, d); err == nil {
				unused = false
				break
			} else if !errors.Is(err, meta.ErrNotFound) {
				return false, err
			}
		}
		if len(names) < pageSize {
			break
		}
		after = names[len(names)-1]
	}
	return unused, nil
}

// sweepBlobs deletes the planned blobs not touched or claimed since the
// mark.
func (c *Collector) sweepBlobs(ctx context.Context, opts Options, rep *Report) error {
	size := map[digest.Digest]int64{}
	var ds []digest.Digest
	for _, b := range rep.Plan.Blobs {
		size[b.Digest] = b.Size
		ds = append(ds, b.Digest)
	}
	ph := c.phase("blobs", len(ds), rep)
	n, err := c.deleteBytes(ctx, opts, rep, ph, ds, func(tx meta.Tx, d digest.Digest) (bool, error) {
		_, err := tx.Blobs().Stat(d)
		if errors.Is(err, meta.ErrNotFound) {
			return false, nil // already gone
		}
		return err == nil, err
	}, func(d digest.Digest) int64 { return size[d] })
	rep.DeletedBlobs += n
	return err
}

// deleteBytes deletes the content-addressed bytes of ds in batches: in one
// transaction, each digest still eligible (eligible, not touched, not
// claimed) is tombstoned; then its bytes are deleted from storage; then
// its tombstone is buried. It returns how many it deleted.
func (c *Collector) deleteBytes(ctx context.Context, opts Options, rep *Report, ph *phase, ds []digest.Digest,
	eligible func(meta.Tx, digest.Digest) (bool, error), size func(digest.Digest) int64) (int, error) {
	deleted := 0
	for start := 0; start < len(ds); start += batchSize {
		batch := ds[start:min(start+batchSize, len(ds))]
		var doomed []digest.Digest
		err := c.store.Update(ctx, func(tx meta.Tx) error {
			doomed = doomed[:0]
			now := c.clock()
			for _, d := range batch {
				ok, err := eligible(tx, d)
				if err != nil {
					return err
				}
				if ok {
					if touched, err := tx.Collector().Collection().Touched(d); err != nil || touched {
						ok = false
						if err != nil {
							return err
						}
					}
				}
				if ok {
					if claimed, err := claimedRecently(tx, d, now, opts); err != nil || claimed {
						ok = false
						if err != nil {
							return err
						}
					}
				}
				if !ok {
					continue
				}
				if err := tx.Collector().Tombstones().Tombstone(d, now); err != nil {
					return err
				}
				doomed = append(doomed, d)
			}
			return nil
		})
		if err != nil {
			return deleted, err
		}
		rep.Skipped += len(batch) - len(doomed)
		if err := c.deleteObjects(ctx, opts, doomed); err != nil {
			return deleted, err
		}
		for _, d := range doomed {
			rep.FreedBytes += size(d)
			deleted++
		}
		if err := c.store.Update(ctx, func(tx meta.Tx) error {
			for _, d := range doomed {
				if err := tx.Collector().Tombstones().Bury(d); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return deleted, err
		}
		if ph != nil {
			ph.report(start + len(batch))
		}
	}
	return deleted, nil
}

// deleteObjects deletes the bytes of ds from storage, opts.Workers at a
// time; bytes already gone are no error.
func (c *Collector) deleteObjects(ctx context.Context, opts Options, ds []digest.Digest) error {
	workers := opts.Workers
	if workers <= 0 {
		workers = 4
	}
	work := make(chan digest.Digest)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range min(workers, len(ds)) {
		wg.Go(func() {
			for d := range work {
				if err := c.driver.Delete(ctx, storage.BlobPath(d)); err != nil && !errors.Is(err, storage.ErrNotFound) {
					select {
					case errs <- fmt.Errorf("gc: delete %s: %w", d, err):
					default:
					}
				}
			}
		})
	}
	for _, d := range ds {
		work <- d
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

// buryLeftovers finishes the deletions a crashed run tombstoned.
func (c *Collector) buryLeftovers(ctx context.Context, rep *Report) error {
	var left []digest.Digest
	if err := c.store.View(ctx, func(tx meta.Tx) error {
		var err error
		left, err = tx.Collector().Tombstones().List("", 0)
		return err
	}); err != nil {
		return err
	}
	for _, d := range left {
		if err := c.driver.Delete(ctx, storage.BlobPath(d)); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("gc: delete %s left by an earlier run: %w", d, err)
		}
	}
	return c.store.Update(ctx, func(tx meta.Tx) error {
		for _, d := range left {
			if err := tx.Collector().Tombstones().Bury(d); err != nil {
				return err
			}
		}
		return nil
	})
}

// sweepUploads deletes the idle upload sessions still idle, and their
// bytes (aborting a storage session, for drivers with sessions).
func (c *Collector) sweepUploads(ctx context.Context, opts Options, rep *Report) error {
	sessions, _ := c.driver.(storage.Sessioner)
	ph := c.phase("uploads", len(rep.Plan.Uploads), rep)
	for i, u := range rep.Plan.Uploads {
		ph.report(i)
		var gone bool
		err := c.store.Update(ctx, func(tx meta.Tx) error {
			cur, err := tx.Uploads().Get(u.ID)
			if errors.Is(err, meta.ErrNotFound) || (err == nil && !cur.UpdatedAt.Equal(u.UpdatedAt)) {
				gone = false
				return nil // finished or moved on since the mark
			}
			if err != nil {
				return err
			}
			gone = true
			return tx.Uploads().Delete(u.ID)
		})
		if err != nil {
			return err
		}
		if !gone {
			rep.Skipped++
			continue
		}
		if sessions != nil && u.DriverState != nil {
			if err := sessions.AbortSession(ctx, storage.UploadPath(u.ID), u.DriverState); err != nil {
				return fmt.Errorf("gc: abort upload %s: %w", u.ID, err)
			}
		}
		if err := c.driver.Delete(ctx, storage.UploadDir(u.ID)); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("gc: delete upload %s: %w", u.ID, err)
		}
		rep.AbortedUploads++
		rep.FreedBytes += u.Offset
	}
	return nil
}

// sweepOrphans deletes content-addressed objects in storage that the
// metadata does not know (a crash between writing bytes and recording
// them), once older than the grace window.
func (c *Collector) sweepOrphans(ctx context.Context, opts Options, rep *Report) error {
	cutoff := c.clock().Add(-opts.grace())
	var ds []digest.Digest
	size := map[digest.Digest]int64{}
	err := c.driver.Walk(ctx, "blobs", func(fi storage.FileInfo) error {
		d, ok := digestOf(fi.Path)
		if !ok || rep.Plan.used[d] || fi.ModTime.After(cutoff) {
			return nil
		}
		ds = append(ds, d)
		size[d] = fi.Size
		return nil
	})
	if err != nil {
		return fmt.Errorf("gc: walk storage: %w", err)
	}
	// Objects with a blob record are the blob phase's business, not
	// orphans: leave them out (and out of the skip count).
	var unknown []digest.Digest
	if err := c.store.View(ctx, func(tx meta.Tx) error {
		for _, d := range ds {
			if _, err := tx.Blobs().Stat(d); errors.Is(err, meta.ErrNotFound) {
				unknown = append(unknown, d)
			} else if err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	ph := c.phase("orphans", len(unknown), rep)
	n, err := c.deleteBytes(ctx, opts, rep, ph, unknown, c.unknownBytes, func(d digest.Digest) int64 { return size[d] })
	rep.DeletedOrphans += n
	return err
}

// digestOf reads the digest of a blobs/<alg>/<xx>/<hex> path.
func digestOf(p string) (digest.Digest, bool) {
	parts := strings.Split(p, "/")
	if len(parts) != 4 || parts[0] != "blobs" {
		return "", false
	}
	d := digest.NewDigestFromEncoded(digest.Algorithm(parts[1]), parts[3])
	return d, d.Validate() == nil && storage.BlobPath(d) == p
}

// Run runs one collection over store and driver: Collector.Run without
// progress reporting. Collections must not overlap; run them as jobs (Job,
// with a Limit of 1) when several processes share a store.
func Run(ctx context.Context, store meta.Store, driver storage.Driver, opts Options) (Report, error) {
	c, err := NewCollector(store, driver)
	if err != nil {
		return Report{}, err
	}
	return c.Run(ctx, opts)
}
