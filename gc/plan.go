package gc

import (
	"context"
	"slices"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry/naming"
)

// DefaultGrace is the grace window when Options.Grace is 0.
const DefaultGrace = 2 * time.Hour

// DefaultUploadTimeout is how long an upload session may stay idle when
// Options.UploadTimeout is 0.
const DefaultUploadTimeout = 24 * time.Hour

// Options tune a collection.
type Options struct {
	// DryRun reports what would be deleted and deletes nothing.
	DryRun bool `json:"dryRun,omitempty"`
	// DeleteUntagged deletes manifests no tag reaches (through indexes and
	// subjects); otherwise every manifest is kept.
	DeleteUntagged bool `json:"deleteUntagged,omitempty"`
	// Grace leaves alone what was written within it (0: DefaultGrace;
	// negative: no grace window).
	Grace time.Duration `json:"grace,omitempty"`
	// UploadTimeout is how long an upload session may stay idle before it
	// is collected (0: DefaultUploadTimeout).
	UploadTimeout time.Duration `json:"uploadTimeout,omitempty"`
	// Projects limits the manifest phase to these projects' repositories
	// (none: the whole registry). Blobs are shared registry-wide, so their
	// phase always marks every repository.
	Projects []string `json:"projects,omitempty"`
	// Workers is how many storage deletions run at once (0: 4).
	Workers int `json:"workers,omitempty"`
}

func (o Options) grace() time.Duration {
	switch {
	case o.Grace < 0:
		return 0
	case o.Grace == 0:
		return DefaultGrace
	}
	return o.Grace
}

func (o Options) uploadTimeout() time.Duration {
	if o.UploadTimeout <= 0 {
		return DefaultUploadTimeout
	}
	return o.UploadTimeout
}

// inScope reports whether repo's manifests may be collected.
func (o Options) inScope(repo string) bool {
	if len(o.Projects) == 0 {
		return true
	}
	return slices.Contains(o.Projects, naming.ProjectOf(repo))
}

// ManifestRef names a manifest in a repository.
type ManifestRef struct {
	Repository string        `json:"repository"`
	Digest     digest.Digest `json:"digest"`
	Size       int64         `json:"size"`
}

// Plan is what a collection deletes: untagged manifests (with
// DeleteUntagged), unreferenced blobs and idle upload sessions, all older
// than the grace window.
type Plan struct {
	// Manifests are the manifests to delete, by repository.
	Manifests []ManifestRef `json:"manifests,omitempty"`
	// Blobs are the registry-wide blob records (and their bytes) to delete.
	Blobs []meta.Blob `json:"blobs,omitempty"`
	// Uploads are the idle upload sessions to abort.
	Uploads []meta.Upload `json:"uploads,omitempty"`
	// Marked counts what was kept: manifests and distinct blobs.
	MarkedManifests int `json:"markedManifests"`
	MarkedBlobs     int `json:"markedBlobs"`

	used map[digest.Digest]bool // what the mark kept: manifests, configs, layers
}

// Bytes is the storage the plan frees: blobs and manifest bytes.
func (p Plan) Bytes() int64 {
	var n int64
	for _, b := range p.Blobs {
		n += b.Size
	}
	for _, m := range p.Manifests {
		n += m.Size
	}
	return n
}

// pageSize bounds the records read per transaction.
const pageSize = 1000

// MakePlan marks what is in use, as of now, and returns what a collection
// with opts would delete.
func MakePlan(ctx context.Context, s meta.Store, opts Options, now time.Time) (Plan, error) {
	var plan Plan
	cutoff := now.Add(-opts.grace())
	used := map[digest.Digest]bool{}
	err := eachRepository(ctx, s, func(repo string) error {
		kept, drop, err := markRepository(ctx, s, repo, opts.DeleteUntagged && opts.inScope(repo), cutoff)
		if err != nil {
			return err
		}
		plan.MarkedManifests += len(kept)
		for _, m := range kept {
			used[m.Digest] = true
			if m.Config.Digest != "" {
				used[m.Config.Digest] = true
			}
			for _, l := range m.Layers {
				used[l.Digest] = true
			}
		}
		for _, m := range drop {
			plan.Manifests = append(plan.Manifests, ManifestRef{Repository: repo, Digest: m.Digest, Size: m.Size})
		}
		return nil
	})
	if err != nil {
		return plan, err
	}
	plan.MarkedBlobs, plan.used = len(used), used
	err = eachBlob(ctx, s, func(b meta.Blob) {
		if !used[b.Digest] && b.CreatedAt.Before(cutoff) {
			plan.Blobs = append(plan.Blobs, b)
		}
	})
	if err != nil {
		return plan, err
	}
	idle := now.Add(-opts.uploadTimeout())
	err = s.View(ctx, func(tx meta.Tx) error {
		ups, err := tx.Uploads().List("", 0)
		for _, u := range ups {
			if u.UpdatedAt.Before(idle) {
				plan.Uploads = append(plan.Uploads, u)
			}
		}
		return err
	})
	return plan, err
}

// eachRepository calls fn with every repository name, a page per
// transaction.
func eachRepository(ctx context.Context, s meta.Store, fn func(string) error) error {
	after := ""
	for {
		var names []string
		if err := s.View(ctx, func(tx meta.Tx) error {
			var err error
			names, err = tx.Repositories().List(after, pageSize)
			return err
		}); err != nil {
			return err
		}
		for _, n := range names {
			if err := fn(n); err != nil {
				return err
			}
		}
		if len(names) < pageSize {
			return nil
		}
		after = names[len(names)-1]
	}
}

// eachBlob calls fn with every registry-wide blob record.
func eachBlob(ctx context.Context, s meta.Store, fn func(meta.Blob)) error {
	var after digest.Digest
	for {
		var page []meta.Blob
		if err := s.View(ctx, func(tx meta.Tx) error {
			var err error
			page, err = tx.Blobs().List(after, pageSize)
			return err
		}); err != nil {
			return err
		}
		for _, b := range page {
			fn(b)
		}
		if len(page) < pageSize {
			return nil
		}
		after = page[len(page)-1].Digest
	}
}
