package postgres

import (
	"errors"
	"fmt"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
)

// tags is the meta.Tags view of a tx.
type tags struct{ t *tx }

// Tags returns the tags view of the transaction.
func (t *tx) Tags() meta.Tags { return tags{t} }

func tagNotFound(repo, tag string) error {
	return fmt.Errorf("meta/postgres: tag %q in %q: %w", tag, repo, meta.ErrNotFound)
}

// Get returns the digest tag points at, or meta.ErrNotFound. In a View it
// reads the manifest's record too, which the transaction keeps for
// Manifests.Get: a registry resolves a tag to read its manifest, and one
// statement does both (the snapshot is the same; a View writes nothing).
func (g tags) Get(repo, tag string) (digest.Digest, error) {
	if err := g.t.live(); err != nil {
		return "", err
	}
	if !storable(repo) || !storable(tag) {
		return "", tagNotFound(repo, tag)
	}
	var d string
	var body []byte
	var found bool
	var err error
	cache := g.t.s.cache
	if g.t.readOnly && cache != nil && meta.CachedReadsAllowed(g.t.ctx) {
		if e, ok := cache.get(repo, tag); ok {
			g.t.s.stats.cachedReads.Add(1)
			g.t.fetch(repo, digest.Digest(e.digest), e.record)
			return digest.Digest(e.digest), nil
		}
	}
	if g.t.readOnly {
		found, err = g.t.one("get tag", `
			SELECT t.digest, m.body FROM tags t JOIN repositories r ON r.id = t.repo_id
			LEFT JOIN manifests m ON m.repo_id = t.repo_id AND m.digest = t.digest
			WHERE r.name = $1 AND t.tag = $2`, []any{repo, tag}, &d, &body)
	} else {
		found, err = g.t.one("get tag", `
			SELECT t.digest FROM tags t JOIN repositories r ON r.id = t.repo_id
			WHERE r.name = $1 AND t.tag = $2`, []any{repo, tag}, &d)
	}
	switch {
	case err != nil:
		return "", err
	case !found:
		return "", tagNotFound(repo, tag)
	}
	if body != nil {
		g.t.fetch(repo, digest.Digest(d), body)
		if cache != nil {
			cache.put(g.t.ticket, repo, tag, cachedTag{digest: d, record: body})
		}
	}
	return digest.Digest(d), nil
}

// fetch keeps the record of repo's manifest d, read with a tag, for the
// transaction's Manifests.Get.
func (t *tx) fetch(repo string, d digest.Digest, record []byte) {
	if t.fetched == nil {
		t.fetched = map[manifestKey][]byte{}
	}
	t.fetched[manifestKey{repo, d}] = record
}

// Put points tag at d, which must be a manifest of repo: one statement
// that checks, upserts, counts a new tag (not a moved one) and touches. When this transaction put the
// manifest, it is not looked up: that read would take a serializable
// read lock on the index page that concurrent pushes into the repository
// insert their manifests into, and make them conflict; and the write,
// which cannot fail then, is deferred to the transaction's next round
// trip.
func (g tags) Put(repo, tag string, d digest.Digest) error {
	if err := g.t.writable("put tag"); err != nil {
		return err
	}
	g.t.wroteTo(repo)
	if tag == "" {
		return errors.New("meta/postgres: put tag: empty tag")
	}
	if err := checkText("tag", tag); err != nil {
		return err
	}
	if !storable(repo) {
		return repoNotFound(repo)
	}
	if !storable(string(d)) {
		return fmt.Errorf("meta/postgres: tag %q: %w", tag, manifestNotFound(repo, d))
	}
	putHere := g.t.put[manifestKey{repo, d}]
	check := `SELECT 1 FROM manifests, r WHERE repo_id = r.id AND digest = $3`
	if putHere {
		check = `SELECT 1 FROM r`
	}
	sql := `
		WITH r AS (SELECT id FROM repositories WHERE name = $1),
		m AS (` + check + `),
		put AS (
			INSERT INTO tags (repo_id, tag, digest) SELECT id, $2, $3 FROM r WHERE EXISTS (SELECT 1 FROM m)
			ON CONFLICT (repo_id, tag) DO UPDATE SET digest = berth_tag_moved($1, EXCLUDED.digest), moved = true
			WHERE tags.digest <> EXCLUDED.digest
			RETURNING repo_id, moved),
		counted AS (
			INSERT INTO repo_stats AS s (repo_id, shard, tags) SELECT repo_id, $5, 1 FROM put WHERE NOT moved
			ON CONFLICT (repo_id, shard) DO UPDATE SET tags = s.tags + 1),
		` + touchCTE(4) + `
		SELECT (SELECT count(*) FROM r), (SELECT count(*) FROM m)`
	args := []any{repo, tag, string(d), touchArgs(d), g.t.counterShard()}
	if putHere {
		return g.t.postpone("put tag", sql, args...)
	}
	var repos, ms int
	_, err := g.t.one("put tag", sql, args, &repos, &ms)
	switch {
	case err != nil:
		return err
	case repos == 0:
		return repoNotFound(repo)
	case ms == 0:
		return fmt.Errorf("meta/postgres: tag %q: %w", tag, manifestNotFound(repo, d))
	}
	g.t.sawRepo(repo)
	return nil
}

// Delete removes the tag and counts it.
func (g tags) Delete(repo, tag string) error {
	if err := g.t.writable("delete tag"); err != nil {
		return err
	}
	g.t.wroteTo(repo)
	if !storable(repo) || !storable(tag) {
		return tagNotFound(repo, tag)
	}
	ct, err := g.t.run("delete tag", `
		WITH gone AS (
			DELETE FROM tags t USING repositories r WHERE r.id = t.repo_id AND r.name = $1 AND t.tag = $2
			RETURNING t.repo_id),
		counted AS (
			INSERT INTO repo_stats AS s (repo_id, shard, tags) SELECT repo_id, $3, -1 FROM gone
			ON CONFLICT (repo_id, shard) DO UPDATE SET tags = s.tags - 1)
		SELECT berth_cache_drop($1) FROM gone`,
		[]any{repo, tag, g.t.counterShard()}, nil)
	if err != nil {
		return err
	}
	if ct.RowsAffected() == 0 {
		return tagNotFound(repo, tag)
	}
	return nil
}

// List returns up to limit tags of repo sorting after "after".
func (g tags) List(repo, after string, limit int) ([]string, error) {
	if err := g.t.live(); err != nil {
		return nil, err
	}
	if !storable(repo) {
		return nil, repoNotFound(repo)
	}
	out, found, err := listIn(g.t, "list tags", `
		SELECT t.tag FROM repositories r
		LEFT JOIN LATERAL (
			SELECT tag FROM tags WHERE repo_id = r.id AND tag >= $2 ORDER BY tag LIMIT $3
		) t ON true
		WHERE r.name = $1 ORDER BY t.tag`, repo, after, limit)
	if err == nil && !found {
		err = repoNotFound(repo)
	}
	return out, err
}

// Of returns the tags of repo pointing at d, in lexical order: one range
// of the tags_by_digest index.
func (g tags) Of(repo string, d digest.Digest) ([]string, error) {
	if err := g.t.live(); err != nil {
		return nil, err
	}
	if !storable(repo) {
		return nil, repoNotFound(repo)
	}
	if !storable(string(d)) {
		d = ""
	}
	// listIn's bound is "": every tag.
	out, found, err := listIn(g.t, "tags of", `
		SELECT t.tag FROM repositories r
		LEFT JOIN LATERAL (
			SELECT tag FROM tags WHERE repo_id = r.id AND digest = $4 AND tag >= $2 ORDER BY tag LIMIT $3
		) t ON true
		WHERE r.name = $1 ORDER BY t.tag`, repo, "", 0, string(d))
	if err == nil && !found {
		err = repoNotFound(repo)
	}
	return out, err
}
