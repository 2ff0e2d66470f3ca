package postgres

import (
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
)

// blobs is the meta.Blobs view of a tx.
type blobs struct{ t *tx }

// Blobs returns the blobs view of the transaction.
func (t *tx) Blobs() meta.Blobs { return blobs{t} }

// Stat returns the registry-wide record of blob d, or meta.ErrNotFound.
func (b blobs) Stat(d digest.Digest) (meta.Blob, error) {
	if err := b.t.live(); err != nil {
		return meta.Blob{}, err
	}
	rec := meta.Blob{Digest: d}
	if !storable(string(d)) {
		return rec, fmt.Errorf("meta/postgres: blob %s: %w", d, meta.ErrNotFound)
	}
	found, err := b.t.one("stat blob", `SELECT size, created_at FROM blobs WHERE digest = $1`, []any{string(d)},
		&rec.Size, &rec.CreatedAt)
	switch {
	case err != nil:
		return meta.Blob{}, err
	case !found:
		return meta.Blob{}, fmt.Errorf("meta/postgres: blob %s: %w", d, meta.ErrNotFound)
	}
	rec.CreatedAt = rec.CreatedAt.UTC()
	return rec, nil
}

// Link records rec registry-wide (if it has no record: new, or
// tombstoned) and links it into repo (if not linked, or if the
// registry-wide record is new: a link made before a tombstone gives way
// to this one). One statement, which reads no table but the catalog:
// whether the registry-wide record is new is what its insert returns. It
// is deferred to the transaction's next round trip when the transaction
// has seen the repository.
func (b blobs) Link(repo string, rec meta.Blob) error {
	if err := b.t.writable("link blob"); err != nil {
		return err
	}
	if rec.Digest == "" {
		return errors.New("meta/postgres: link blob: empty digest")
	}
	if err := checkText("blob digest", string(rec.Digest)); err != nil {
		return err
	}
	if !storable(repo) {
		return repoNotFound(repo)
	}
	found, err := b.t.upsert("link blob", repo, `
		WITH r AS (SELECT id FROM repositories WHERE name = $1),
		g AS (
			INSERT INTO blobs (digest, size, created_at) SELECT $2, $3, $4 FROM r
			ON CONFLICT (digest) DO NOTHING RETURNING true),
		l AS (
			INSERT INTO blob_links (repo_id, digest, size, created_at) SELECT id, $2, $3, $4 FROM r
			ON CONFLICT (repo_id, digest) DO UPDATE SET size = EXCLUDED.size, created_at = EXCLUDED.created_at
			WHERE EXISTS (SELECT 1 FROM g)),
		`+touchCTE(5)+`
		SELECT count(*) FROM r`,
		repo, string(rec.Digest), rec.Size, ts(rec.CreatedAt), touchArgs(rec.Digest))
	if err != nil {
		return err
	}
	if !found {
		return repoNotFound(repo)
	}
	return nil
}

// Linked returns blob d as linked into repo, or meta.ErrNotFound (also
// when it has no registry-wide record: tombstoned since).
func (b blobs) Linked(repo string, d digest.Digest) (meta.Blob, error) {
	if err := b.t.live(); err != nil {
		return meta.Blob{}, err
	}
	notFound := fmt.Errorf("meta/postgres: blob %s in %q: %w", d, repo, meta.ErrNotFound)
	if !storable(repo) || !storable(string(d)) {
		return meta.Blob{}, notFound
	}
	rec := meta.Blob{Digest: d}
	found, err := b.t.one("linked blob", `
		SELECT l.size, l.created_at FROM blob_links l JOIN repositories r ON r.id = l.repo_id
		WHERE r.name = $1 AND l.digest = $2 AND EXISTS (SELECT 1 FROM blobs WHERE digest = $2)`,
		[]any{repo, string(d)}, &rec.Size, &rec.CreatedAt)
	switch {
	case err != nil:
		return meta.Blob{}, err
	case !found:
		return meta.Blob{}, notFound
	}
	rec.CreatedAt = rec.CreatedAt.UTC()
	return rec, nil
}

// Unlinked returns the digests of ds that Linked does not find in repo,
// in one statement.
func (b blobs) Unlinked(repo string, ds []digest.Digest) ([]digest.Digest, error) {
	if err := b.t.live(); err != nil {
		return nil, err
	}
	var look []string
	for _, d := range ds {
		if storable(string(d)) {
			look = append(look, string(d))
		}
	}
	linked := map[digest.Digest]bool{}
	if len(look) > 0 && storable(repo) {
		// The repository's row comes along (a row with no digest when
		// none is linked): the transaction learns that it exists, and
		// when, so that a following Ensure sends nothing.
		_, err := b.t.run("unlinked blobs", `
			SELECT r.created_at, l.digest FROM repositories r
			LEFT JOIN blob_links l ON l.repo_id = r.id AND l.digest = ANY($2::text[])
				AND EXISTS (SELECT 1 FROM blobs WHERE digest = l.digest)
			WHERE r.name = $1`,
			[]any{repo, look}, func(rows pgx.Rows) error {
				var at time.Time
				var d *string
				if err := rows.Scan(&at, &d); err != nil {
					return err
				}
				b.t.sawRepoAt(repo, at)
				if d != nil {
					linked[digest.Digest(*d)] = true
				}
				return nil
			})
		if err != nil {
			return nil, err
		}
	}
	var out []digest.Digest
	for _, d := range ds {
		if !linked[d] {
			out = append(out, d)
		}
	}
	return out, nil
}

// Unlink removes the link of d from repo; the registry-wide record stays.
func (b blobs) Unlink(repo string, d digest.Digest) error {
	if err := b.t.writable("unlink blob"); err != nil {
		return err
	}
	notFound := fmt.Errorf("meta/postgres: blob %s in %q: %w", d, repo, meta.ErrNotFound)
	if !storable(repo) || !storable(string(d)) {
		return notFound
	}
	tag, err := b.t.run("unlink blob", `
		DELETE FROM blob_links l USING repositories r WHERE r.id = l.repo_id AND r.name = $1 AND l.digest = $2`,
		[]any{repo, string(d)}, nil)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return notFound
	}
	return nil
}

// List returns up to limit registry-wide blob records sorting after
// "after", in digest order.
func (b blobs) List(after digest.Digest, limit int) ([]meta.Blob, error) {
	if err := b.t.live(); err != nil {
		return nil, err
	}
	bound, ok := lowerBound(string(after))
	if !ok {
		return nil, nil
	}
	var out []meta.Blob
	_, err := b.t.run("list blobs", `SELECT digest, size, created_at FROM blobs WHERE digest >= $1 ORDER BY digest LIMIT $2`,
		[]any{bound, limitArg(limit)}, func(rows pgx.Rows) error {
			var d string
			var rec meta.Blob
			err := rows.Scan(&d, &rec.Size, &rec.CreatedAt)
			rec.Digest, rec.CreatedAt = digest.Digest(d), rec.CreatedAt.UTC()
			out = append(out, rec)
			return err
		})
	return out, err
}
