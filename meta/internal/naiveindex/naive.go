// Package naiveindex is a TEMPORARY full-scan implementation of
// Repositories.Count, Repositories.Stats and Manifests.Artifacts, so the
// packages that use them build and test while the backends' indexed
// versions are written. Delete it when they land.
package naiveindex

import (
	"slices"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry/naming"
)

// Count counts repositories in project ("" all) by listing every name.
func Count(r meta.Repositories, project string) (int, error) {
	names, err := r.List("", 0)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, name := range names {
		if project == "" || naming.ProjectOf(name) == project {
			n++
		}
	}
	return n, nil
}

// all reads every manifest of repo and which of them have a parent.
func all(m meta.Manifests, repo string) ([]meta.Manifest, map[digest.Digest]bool, error) {
	ds, err := m.List(repo, "", 0)
	if err != nil {
		return nil, nil, err
	}
	var out []meta.Manifest
	parent := map[digest.Digest]bool{}
	for _, d := range ds {
		rec, err := m.Get(repo, d)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, rec)
		for _, c := range rec.Manifests {
			parent[c.Digest] = true
		}
	}
	return out, parent, nil
}

// Stats counts by reading everything.
func Stats(r meta.Repositories, m meta.Manifests, t meta.Tags, name string) (meta.RepositoryStats, error) {
	if _, err := r.Get(name); err != nil {
		return meta.RepositoryStats{}, err
	}
	recs, parent, err := all(m, name)
	if err != nil {
		return meta.RepositoryStats{}, err
	}
	tags, err := t.List(name, "", 0)
	if err != nil {
		return meta.RepositoryStats{}, err
	}
	st := meta.RepositoryStats{Manifests: len(recs), Tags: len(tags)}
	for _, rec := range recs {
		if rec.IsArtifact(parent[rec.Digest]) {
			st.Artifacts++
		}
	}
	return st, nil
}

// Artifacts sorts every artifact of repo.
func Artifacts(m meta.Manifests, repo string, q meta.ArtifactQuery) ([]meta.Manifest, int, error) {
	recs, parent, err := all(m, repo)
	if err != nil {
		return nil, 0, err
	}
	var arts []meta.Manifest
	for _, rec := range recs {
		if !rec.IsArtifact(parent[rec.Digest]) {
			continue
		}
		if !q.PushedFrom.IsZero() && rec.PushedAt.Before(q.PushedFrom) || !q.PushedTo.IsZero() && rec.PushedAt.After(q.PushedTo) {
			continue
		}
		arts = append(arts, rec)
	}
	slices.SortFunc(arts, func(a, b meta.Manifest) int {
		c := a.PushedAt.Compare(b.PushedAt)
		if c == 0 {
			c = compareStrings(string(a.Digest), string(b.Digest))
		}
		if !q.OldestFirst {
			c = -c
		}
		return c
	})
	total := len(arts)
	start := min(q.Offset, total)
	end := total
	if q.Limit > 0 {
		end = min(start+q.Limit, total)
	}
	return arts[start:end], total, nil
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
