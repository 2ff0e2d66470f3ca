package engine

import (
	"context"
	"errors"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry/naming"
	"github.com/berthreg/berth/scan"
	"github.com/berthreg/berth/scan/securityhub"
)

// Consume is scan-on-push: an events.Consumer's Tx function that, in the
// transaction advancing the cursor, enqueues a scan of every image pushed
// to a project with auto-scan (every project with Engine.autoScan), and
// forgets the scans of deleted artifacts (with what the security hub
// keeps of them, and of the artifacts of deleted repositories). A crash
// between the push and the scan loses nothing: the event is read again.
func (e *Engine) Consume(_ context.Context, tx meta.Tx, batch []meta.Event) error {
	auto := map[string]bool{}
	now := time.Now().UTC()
	for _, ev := range batch {
		if ev.Type == events.DeleteRepository && ev.Repository != "" {
			if err := securityhub.ForgetRepository(tx, ev.Repository); err != nil {
				return err
			}
			continue
		}
		if ev.Repository == "" || ev.Digest == "" {
			continue
		}
		if ev.Type == events.DeleteArtifact {
			if err := e.forgetTx(tx, ev.Repository, digest.Digest(ev.Digest)); err != nil {
				return err
			}
			continue
		}
		if ev.Type != events.PushArtifact {
			continue
		}
		if ev.MediaType != "" && ev.MediaType != scan.MimeOCIManifest && ev.MediaType != scan.MimeDockerManifest {
			continue // indexes and anything else: their images come as pushes of their own
		}
		project := naming.ProjectOf(ev.Repository)
		on, seen := auto[project]
		if !seen {
			on = e.autoScan
			if !on {
				p, err := accounts.Projects.In(tx).Get(project)
				if err != nil && !errors.Is(err, meta.ErrNotFound) {
					return err
				}
				on = err == nil && p.Scan.AutoScan
			}
			auto[project] = on
		}
		if !on {
			continue
		}
		_, err := e.EnqueueTx(tx, ev.Repository, digest.Digest(ev.Digest), "", TriggerPush, now)
		if err != nil && !errors.Is(err, ErrNotScannable) && !errors.Is(err, meta.ErrNotFound) {
			return err
		}
	}
	return nil
}

// allBatch is how many manifests one transaction of the scan-all walk
// looks at.
const allBatch = 200

// all is the scan-all job: a scan of every image in every repository, in
// transactions of a bounded size.
func (e *Engine) all(ctx context.Context, _ meta.Job) error {
	after := ""
	queued := 0
	for {
		var repos []string
		if err := e.store.View(ctx, func(tx meta.Tx) error {
			var err error
			repos, err = tx.Repositories().List(after, 100)
			return err
		}); err != nil {
			return err
		}
		if len(repos) == 0 {
			break
		}
		for _, repo := range repos {
			var from digest.Digest
			for {
				// The function may run more than once: it sets, and does
				// not advance, what the loop reads after the commit.
				var n, queuedHere int
				var last digest.Digest
				err := e.store.Update(ctx, func(tx meta.Tx) error {
					queuedHere = 0
					ds, err := tx.Manifests().List(repo, from, allBatch)
					if err != nil {
						return err
					}
					n = len(ds)
					now := time.Now().UTC()
					for _, d := range ds {
						ok, err := e.EnqueueTx(tx, repo, d, "", TriggerSchedule, now)
						switch {
						case errors.Is(err, ErrNotScannable), errors.Is(err, meta.ErrNotFound):
						case err != nil:
							return err
						case ok:
							queuedHere++
						}
					}
					if n > 0 {
						last = ds[n-1]
					}
					return nil
				})
				if errors.Is(err, meta.ErrNotFound) {
					break // the repository went
				}
				if err != nil {
					return err
				}
				queued, from = queued+queuedHere, last
				e.notify()
				if n < allBatch {
					break
				}
			}
		}
		after = repos[len(repos)-1]
	}
	e.log().Info("scan all: scans queued", "scans", queued)
	return nil
}

// forgetTx removes the scan record of an artifact that is gone, and its
// security hub records (its report referrers go with it, by garbage
// collection). An artifact pushed again since keeps its record.
func (e *Engine) forgetTx(tx meta.Tx, repo string, d digest.Digest) error {
	_, err := tx.Manifests().Get(repo, d)
	switch {
	case err == nil:
		return nil
	case !errors.Is(err, meta.ErrNotFound):
		return err
	}
	err = Reports.In(tx).Delete(ScanReportKey(repo, d))
	if err != nil && !errors.Is(err, meta.ErrNotFound) {
		return err
	}
	return securityhub.Forget(tx, repo, d)
}
