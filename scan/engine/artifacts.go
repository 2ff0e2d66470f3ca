package engine

import (
	"context"
	"errors"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
)

// Artifact is an artifact as the scan services show it: its manifest
// record, its tags and its latest scan.
type Artifact struct {
	// Repository is the artifact's full repository name.
	Repository string
	// Manifest is its manifest record.
	Manifest meta.Manifest
	// Tags are the tags naming it.
	Tags []string
	// Scan is its latest scan (nil: never asked for).
	Scan *ScanReport
}

// Artifacts reads artifacts with their scans. It needs only the store:
// a host without scanners shows artifacts too.
type Artifacts struct{ store meta.Store }

// NewArtifacts returns the reader of the artifacts in store.
func NewArtifacts(store meta.Store) *Artifacts { return &Artifacts{store: store} }

// Get returns the artifact reference names in repo: a digest, else a
// tag (meta.ErrNotFound when there is no such artifact).
func (a *Artifacts) Get(ctx context.Context, repo, reference string) (Artifact, error) {
	out := Artifact{Repository: repo}
	err := a.store.View(ctx, func(tx meta.Tx) error {
		out.Scan = nil
		d, err := digest.Parse(reference)
		if err != nil {
			if d, err = tx.Tags().Get(repo, reference); err != nil {
				return err
			}
		}
		if out.Manifest, err = tx.Manifests().Get(repo, d); err != nil {
			return err
		}
		if out.Tags, err = tx.Tags().Of(repo, d); err != nil {
			return err
		}
		rec, err := Reports.In(tx).Get(ScanReportKey(repo, d))
		switch {
		case err == nil:
			out.Scan = &rec
		case !errors.Is(err, meta.ErrNotFound):
			return err
		}
		return nil
	})
	return out, err
}

// Vulnerabilities returns the latest vulnerability report of repo@d, as
// the scanner made it (nil when there is none yet).
func (e *Engine) Vulnerabilities(ctx context.Context, repo string, d digest.Digest) ([]byte, error) {
	var rec ScanReport
	err := e.store.View(ctx, func(tx meta.Tx) error {
		var err error
		rec, err = Reports.In(tx).Get(ScanReportKey(repo, d))
		return err
	})
	if errors.Is(err, meta.ErrNotFound) || err == nil && rec.Report == "" {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	b, _, err := e.ReadReport(ctx, repo, rec.Report)
	return b, err
}
