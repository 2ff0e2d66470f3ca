package postgres

// TEMPORARY (lead): full-scan versions of the new methods so that the
// packages using them build while the indexed ones are written. Delete
// this file when the indexed methods land.

import (
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/internal/naiveindex"
)

// Count counts repositories in project.
func (r repositories) Count(project string) (int, error) { return naiveindex.Count(r, project) }

// Stats counts what a repository holds.
func (r repositories) Stats(name string) (meta.RepositoryStats, error) {
	return naiveindex.Stats(r, manifests(r), tags(r), name)
}

// Artifacts lists artifacts.
func (m manifests) Artifacts(repo string, q meta.ArtifactQuery) ([]meta.Manifest, int, error) {
	return naiveindex.Artifacts(m, repo, q)
}
