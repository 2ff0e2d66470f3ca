package postgres

import (
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry/naming"
)

// counterShards is the number of rows each counter is kept in (see the
// package doc, "Artifacts and counters").
const counterShards = 16

// shardPool hands out counter shards to a Store's transactions: the
// least used at the moment, so that concurrent transactions of one Store
// write different counter rows while there are no more of them than
// shards. Each Store prefers the shards in an order of its own, so that
// the transactions of several Stores (instances) meet on a row seldom.
type shardPool struct {
	mu    sync.Mutex
	order [counterShards]int16
	users [counterShards]int
}

// newShardPool returns a pool with a random order of preference.
func newShardPool() *shardPool {
	p := &shardPool{}
	for i, s := range rand.Perm(counterShards) {
		p.order[i] = int16(s)
	}
	return p
}

// take returns the shard least in use, preferring the pool's order.
func (p *shardPool) take() int16 {
	p.mu.Lock()
	defer p.mu.Unlock()
	best := p.order[0]
	for _, s := range p.order[1:] {
		if p.users[s] < p.users[best] {
			best = s
		}
	}
	p.users[best]++
	return best
}

// give returns shard s to the pool.
func (p *shardPool) give(s int16) {
	p.mu.Lock()
	p.users[s]--
	p.mu.Unlock()
}

// takeShard takes the counter shard the transaction will add its
// counter changes to from the Store's pool, until releaseShard. An
// Update takes it before its first statement, so before its snapshot:
// every transaction that held the shard before has committed (or rolled
// back) by then, and none that wrote the shard's rows committed after
// the snapshot, which would fail the Update's write of them ("could not
// serialize access due to concurrent update").
func (t *tx) takeShard() {
	if !t.hasShard {
		t.shard, t.hasShard = t.s.shards.take(), true
	}
}

// counterShard returns the transaction's counter shard.
func (t *tx) counterShard() int16 {
	t.takeShard()
	return t.shard
}

// releaseShard gives the transaction's counter shard back, if it took
// one.
func (t *tx) releaseShard() {
	if t.hasShard {
		t.s.shards.give(t.shard)
		t.hasShard = false
	}
}

// scopes returns the repo_counts scopes repository name counts in: all
// repositories (""), and its project unless that is empty.
func scopes(name string) []string {
	if p := naming.ProjectOf(name); p != "" {
		return []string{"", p}
	}
	return []string{""}
}

// countRepoCTE is a CTE named counted that adds delta to the repository
// counts of the scopes in the text[] parameter $scopes, in shard $shard,
// for each row of the CTE from.
func countRepoCTE(from string, delta, scopes, shard int) string {
	return fmt.Sprintf(`counted AS (
		INSERT INTO repo_counts AS c (scope, shard, n) SELECT scope, $%[3]d, %[2]d FROM %[1]s, unnest($%[4]d::text[]) AS scope
		ON CONFLICT (scope, shard) DO UPDATE SET n = c.n + EXCLUDED.n)`, from, delta, shard, scopes)
}

// Count returns the number of repositories in project ("" for all): the
// sum of the scope's shards.
func (r repositories) Count(project string) (int, error) {
	if err := r.t.live(); err != nil {
		return 0, err
	}
	if !storable(project) {
		return 0, nil
	}
	var n int64
	_, err := r.t.one("count repositories", `SELECT coalesce(sum(n), 0) FROM repo_counts WHERE scope = $1`, []any{project}, &n)
	return int(n), err
}

// Stats returns the counters of repository name: the sum of its shards.
func (r repositories) Stats(name string) (meta.RepositoryStats, error) {
	if err := r.t.live(); err != nil {
		return meta.RepositoryStats{}, err
	}
	if !storable(name) {
		return meta.RepositoryStats{}, repoNotFound(name)
	}
	var ms, arts, tags int64
	found, err := r.t.one("repository stats", `
		SELECT s.* FROM repositories r CROSS JOIN LATERAL (
			SELECT coalesce(sum(manifests), 0), coalesce(sum(artifacts), 0), coalesce(sum(tags), 0)
			FROM repo_stats WHERE repo_id = r.id) s
		WHERE r.name = $1`, []any{name}, &ms, &arts, &tags)
	switch {
	case err != nil:
		return meta.RepositoryStats{}, err
	case !found:
		return meta.RepositoryStats{}, repoNotFound(name)
	}
	return meta.RepositoryStats{Manifests: int(ms), Artifacts: int(arts), Tags: int(tags)}, nil
}

// artifactsSQL is Manifests.Artifacts' statement: $1 the repository, $2
// and $3 the time bounds (NULL: open), $4 the offset, $5 the limit. The
// first %s is the total (the counter, or a count of the index range),
// computed once (a materialized CTE: inlined, PostgreSQL would compute
// it again for every row), the others the direction. One row per
// artifact of the page, with the total; one with NULLs when the page is
// empty; none when the repository does not exist.
const artifactsSQL = `
	WITH r AS (SELECT id FROM repositories WHERE name = $1),
	t AS MATERIALIZED (SELECT %s AS total FROM r)
	SELECT t.total, m.digest, m.body FROM r CROSS JOIN t
	LEFT JOIN LATERAL (
		SELECT digest, body, pushed_at FROM manifests
		WHERE repo_id = r.id AND artifact
			AND pushed_at >= coalesce($2::timestamptz, '-infinity') AND pushed_at <= coalesce($3::timestamptz, 'infinity')
		ORDER BY pushed_at %[2]s, digest %[2]s OFFSET $4 LIMIT $5
	) m ON true
	ORDER BY m.pushed_at %[2]s, m.digest %[2]s`

// Totals of artifactsSQL.
const (
	counterTotal = `(SELECT coalesce(sum(artifacts), 0) FROM repo_stats WHERE repo_id = r.id)`
	rangeTotal   = `(SELECT count(*) FROM manifests WHERE repo_id = r.id AND artifact
		AND pushed_at >= coalesce($2::timestamptz, '-infinity') AND pushed_at <= coalesce($3::timestamptz, 'infinity'))`
)

// Artifacts returns a page of repo's artifacts in push order and their
// total, in one statement: a range of the manifests_artifacts index,
// q.Offset+q.Limit entries long, and the counter's shards (with a time
// bound, a count of the index range instead).
func (m manifests) Artifacts(repo string, q meta.ArtifactQuery) ([]meta.Manifest, int, error) {
	if err := m.t.live(); err != nil {
		return nil, 0, err
	}
	if !storable(repo) {
		return nil, 0, repoNotFound(repo)
	}
	total, dir := counterTotal, "DESC"
	if !q.PushedFrom.IsZero() || !q.PushedTo.IsZero() {
		total = rangeTotal
	}
	if q.OldestFirst {
		dir = "ASC"
	}
	var page []meta.Manifest
	var n int64
	found := false
	_, err := m.t.run("list artifacts", fmt.Sprintf(artifactsSQL, total, dir),
		[]any{repo, nullTS(q.PushedFrom), nullTS(q.PushedTo), int64(max(q.Offset, 0)), limitArg(q.Limit)},
		func(rows pgx.Rows) error {
			found = true
			var d *string
			var body []byte
			if err := rows.Scan(&n, &d, &body); err != nil || d == nil {
				return err
			}
			rec, err := decodeManifest(*d, body)
			page = append(page, rec)
			return err
		})
	switch {
	case err != nil:
		return nil, 0, err
	case !found:
		return nil, 0, repoNotFound(repo)
	}
	return page, int(n), nil
}

// children returns the distinct child digests m lists that a text
// column can hold (others cannot be manifests of the repository).
func children(m meta.Manifest) []string {
	out := []string{}
	for _, c := range m.Manifests {
		if d := string(c.Digest); d != "" && storable(d) && !contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

// contains reports whether ss holds s.
func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// showChildrenCTE is a CTE named shown that marks as artifacts the
// manifests of repository (SELECT repo_id FROM <from>) whose digests
// the CTE unlinked returned (children the manifest $2 no longer lists)
// when they are not accessories and no other manifest lists them. It is
// gated on unlinked returning any (a condition PostgreSQL evaluates
// before it scans), so that it reads nothing otherwise.
func showChildrenCTE(from string) string {
	return `shown AS (
		UPDATE manifests m SET artifact = true
		WHERE EXISTS (SELECT 1 FROM unlinked) AND m.repo_id = (SELECT repo_id FROM ` + from + `)
			AND m.digest = ANY (ARRAY(SELECT child FROM unlinked))
			AND m.digest <> $2 AND NOT m.accessory AND NOT m.artifact
			AND NOT EXISTS (SELECT 1 FROM manifest_children c
				WHERE c.repo_id = m.repo_id AND c.child = m.digest AND c.parent <> $2)
		RETURNING 1)`
}

// putManifestSQL is Manifests.Put's statement: $1 repository, $2
// digest, $3 subject, $4 body, $5 digests to touch, $6 push time, $7
// accessory, $8 children, $9 counter shard. It returns the number of
// rows of r (0: no such repository).
//
// The upsert reads no index (ON CONFLICT takes no serializable read
// lock) and learns what it replaced from the row's replaced column. The
// statements on children run only for an index ($8 not empty: links
// added, children hidden) or a replacement (links the new record drops,
// children shown), each gated by a condition PostgreSQL evaluates
// before it scans: a push of an image reads only manifest_children's
// entries of its digest, which only a concurrent push of an index
// listing it writes.
var putManifestSQL = `
	WITH r AS (SELECT id FROM repositories WHERE name = $1),
	put AS (
		INSERT INTO manifests (repo_id, digest, subject, body, pushed_at, accessory, artifact)
		SELECT id, $2, $3, $4, $6, $7, NOT $7 AND NOT ($2 = ANY ($8::text[]) OR EXISTS (
			SELECT 1 FROM manifest_children c WHERE c.repo_id = r.id AND c.child = $2 AND c.parent <> $2))
		FROM r
		ON CONFLICT (repo_id, digest) DO UPDATE SET subject = EXCLUDED.subject, body = EXCLUDED.body,
			pushed_at = EXCLUDED.pushed_at, accessory = EXCLUDED.accessory, artifact = EXCLUDED.artifact,
			replaced = CASE WHEN manifests.artifact THEN 2 ELSE 1 END
		RETURNING repo_id, artifact, replaced),
	linked AS (
		INSERT INTO manifest_children (repo_id, child, parent)
		SELECT put.repo_id, c, $2 FROM put, unnest($8::text[]) AS c
		ON CONFLICT DO NOTHING),
	hidden AS (
		UPDATE manifests m SET artifact = false
		WHERE cardinality($8::text[]) > 0 AND m.repo_id = (SELECT repo_id FROM put)
			AND m.digest = ANY ($8::text[]) AND m.digest <> $2 AND m.artifact
		RETURNING 1),
	unlinked AS (
		DELETE FROM manifest_children c
		WHERE (SELECT replaced FROM put) > 0 AND c.repo_id = (SELECT repo_id FROM put)
			AND c.parent = $2 AND c.child <> ALL ($8::text[])
		RETURNING c.child),
	` + showChildrenCTE("put") + `,
	counted AS (
		INSERT INTO repo_stats AS s (repo_id, shard, manifests, artifacts)
		SELECT repo_id, $9, d.manifests, d.artifacts FROM put, LATERAL (SELECT
			(replaced = 0)::int AS manifests,
			artifact::int - (replaced = 2)::int - (SELECT count(*) FROM hidden) + (SELECT count(*) FROM shown) AS artifacts) d
		WHERE d.manifests <> 0 OR d.artifacts <> 0
		ON CONFLICT (repo_id, shard) DO UPDATE SET
			manifests = s.manifests + EXCLUDED.manifests, artifacts = s.artifacts + EXCLUDED.artifacts),
	` + touchCTE(5) + `
	SELECT count(*) FROM r`

// deleteManifestSQL is Manifests.Delete's statement: $1 repository, $2
// digest, $3 counter shard. It returns the number of manifests deleted
// and of drop-log rows appended.
var deleteManifestSQL = `
	WITH gone AS (
		DELETE FROM manifests m USING repositories r
		WHERE r.id = m.repo_id AND r.name = $1 AND m.digest = $2 RETURNING m.repo_id, m.artifact),
	untag AS (DELETE FROM tags t USING gone WHERE t.repo_id = gone.repo_id AND t.digest = $2 RETURNING 1),
	unlinked AS (
		DELETE FROM manifest_children c
		WHERE c.repo_id = (SELECT repo_id FROM gone) AND c.parent = $2 RETURNING c.child),
	` + showChildrenCTE("gone") + `,
	counted AS (
		INSERT INTO repo_stats AS s (repo_id, shard, manifests, artifacts, tags)
		SELECT repo_id, $3, -1, (SELECT count(*) FROM shown) - artifact::int, -(SELECT count(*) FROM untag) FROM gone
		ON CONFLICT (repo_id, shard) DO UPDATE SET manifests = s.manifests + EXCLUDED.manifests,
			artifacts = s.artifacts + EXCLUDED.artifacts, tags = s.tags + EXCLUDED.tags),
	dropped AS (SELECT berth_cache_drop($1) WHERE EXISTS (SELECT 1 FROM untag))
	SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM dropped)`
