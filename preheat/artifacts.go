package preheat

import (
	"context"
	"errors"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/label"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/scan"
	"github.com/berthreg/berth/scan/engine"
)

// SignedFunc reports whether manifest d of repository is signed (the
// server's is content trust's trust.Service.Signed).
type SignedFunc func(ctx context.Context, repository string, d digest.Digest) (bool, error)

// storeArtifacts is the Artifacts StoreArtifacts returns.
type storeArtifacts struct {
	store  meta.Store
	signed SignedFunc
}

// StoreArtifacts returns the Artifacts of the registry whose metadata is
// in store: tags and manifests from the store, labels from package
// label's records, severities from the scan engine's reports, and
// signatures through signed.
func StoreArtifacts(store meta.Store, signed SignedFunc) Artifacts {
	return storeArtifacts{store: store, signed: signed}
}

// Repositories implements Artifacts.
func (a storeArtifacts) Repositories(ctx context.Context, project string) ([]string, error) {
	var out []string
	err := a.store.View(ctx, func(tx meta.Tx) error {
		names, err := tx.Repositories().List(project+"/", 0)
		for _, n := range names {
			if !strings.HasPrefix(n, project+"/") {
				break
			}
			out = append(out, n)
		}
		return err
	})
	return out, err
}

// Tagged implements Artifacts.
func (a storeArtifacts) Tagged(ctx context.Context, repo string) ([]Artifact, error) {
	var out []Artifact
	err := a.store.View(ctx, func(tx meta.Tx) error {
		tags, err := tx.Tags().List(repo, "", 0)
		if errors.Is(err, meta.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		for _, tag := range tags {
			d, err := tx.Tags().Get(repo, tag)
			if errors.Is(err, meta.ErrNotFound) {
				continue
			} else if err != nil {
				return err
			}
			m, err := tx.Manifests().Get(repo, d)
			if err != nil {
				return err
			}
			out = append(out, Artifact{Repository: repo, Tag: tag, Digest: d.String(), MediaType: m.MediaType, ArtifactType: m.ArtifactType})
		}
		return nil
	})
	return out, err
}

// Labels implements Artifacts.
func (a storeArtifacts) Labels(ctx context.Context, repo, d string) ([]string, error) {
	var names []string
	err := a.store.View(ctx, func(tx meta.Tx) error {
		var err error
		names, err = label.Names(tx, repo, digest.Digest(d))
		return err
	})
	return names, err
}

// Signed implements Artifacts.
func (a storeArtifacts) Signed(ctx context.Context, repo, d string) (bool, error) {
	return a.signed(ctx, repo, digest.Digest(d))
}

// Severity implements Artifacts from the artifact's scan report.
func (a storeArtifacts) Severity(ctx context.Context, repo, d string) (scan.Severity, bool, error) {
	var rec engine.ScanReport
	err := a.store.View(ctx, func(tx meta.Tx) error {
		var err error
		rec, err = engine.Reports.In(tx).Get(engine.ScanReportKey(repo, digest.Digest(d)))
		return err
	})
	switch {
	case errors.Is(err, meta.ErrNotFound):
		return "", false, nil
	case err != nil:
		return "", false, err
	case rec.Status != engine.ScanSuccess:
		return "", false, nil
	}
	return scan.Severity(rec.Severity), true, nil
}
