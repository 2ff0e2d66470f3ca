package postgres

import (
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
)

var _ meta.Porter = (*tx)(nil)

// dumper is the meta.Dumper of a transaction.
type dumper struct{ t *tx }

// Dump returns the reads a whole-store copy needs beyond the views.
func (t *tx) Dump() meta.Dumper { return dumper{t} }

// Restore returns the writes that keep records exactly as read.
func (t *tx) Restore() meta.Restorer { return restorer{t} }

// Kinds returns the distinct kinds of the records table by a loose index
// scan: one probe of the primary key per kind, not a read of every record.
func (d dumper) Kinds() ([]string, error) {
	if err := d.t.live(); err != nil {
		return nil, err
	}
	var out []string
	_, err := d.t.run("record kinds", `
		WITH RECURSIVE k AS (
			SELECT (SELECT min(kind) FROM records) AS kind
			UNION ALL
			SELECT (SELECT min(kind) FROM records WHERE kind > k.kind) FROM k WHERE k.kind IS NOT NULL
		)
		SELECT kind FROM k WHERE kind IS NOT NULL`, nil, func(rows pgx.Rows) error {
		var k string
		err := rows.Scan(&k)
		out = append(out, k)
		return err
	})
	return out, err
}

// Links returns a page of repo's rows of blob_links; one row with NULLs
// says the repository exists with no link in the page, none that it does
// not exist.
func (d dumper) Links(repo string, after digest.Digest, limit int) ([]meta.Blob, error) {
	if err := d.t.live(); err != nil {
		return nil, err
	}
	if !storable(repo) {
		return nil, repoNotFound(repo)
	}
	bound, ok := lowerBound(string(after))
	if !ok {
		_, err := repositories(d).Get(repo)
		return nil, err
	}
	found := false
	var out []meta.Blob
	_, err := d.t.run("links", `
		SELECT l.digest, l.size, l.created_at FROM repositories r
		LEFT JOIN LATERAL (
			SELECT digest, size, created_at FROM blob_links WHERE repo_id = r.id AND digest >= $2 ORDER BY digest LIMIT $3
		) l ON true
		WHERE r.name = $1 ORDER BY l.digest`, []any{repo, bound, limitArg(limit)}, func(rows pgx.Rows) error {
		found = true
		var dg *string
		var size *int64
		var at *time.Time
		if err := rows.Scan(&dg, &size, &at); err != nil || dg == nil {
			return err
		}
		out = append(out, meta.Blob{Digest: digest.Digest(*dg), Size: *size, CreatedAt: fromNull(at)})
		return nil
	})
	if err == nil && !found {
		err = repoNotFound(repo)
	}
	return out, err
}

// Claims returns a page of gc_claims, without the released ones (marked -infinity).
func (d dumper) Claims(after digest.Digest, limit int) ([]meta.Stamp, error) {
	return d.stamps("claims", `SELECT digest, at FROM gc_claims WHERE digest >= $1 AND at <> '-infinity' ORDER BY digest LIMIT $2`, after, limit)
}

// Tombstones returns a page of gc_tombstones.
func (d dumper) Tombstones(after digest.Digest, limit int) ([]meta.Stamp, error) {
	return d.stamps("tombstones", `SELECT digest, at FROM gc_tombstones WHERE digest >= $1 ORDER BY digest LIMIT $2`, after, limit)
}

// stamps runs sql, a page of (digest, at) rows from the lower bound $1
// with limit $2.
func (d dumper) stamps(op, sql string, after digest.Digest, limit int) ([]meta.Stamp, error) {
	if err := d.t.live(); err != nil {
		return nil, err
	}
	bound, ok := lowerBound(string(after))
	if !ok {
		return nil, nil
	}
	var out []meta.Stamp
	_, err := d.t.run(op, sql, []any{bound, limitArg(limit)}, func(rows pgx.Rows) error {
		var s meta.Stamp
		var dg string
		err := rows.Scan(&dg, &s.At)
		s.Digest, s.At = digest.Digest(dg), s.At.UTC()
		out = append(out, s)
		return err
	})
	return out, err
}

// highestSQL is the highest number the sequence %[1]s has handed out
// (0 if none): last_value counts only once is_called says nextval
// returned it (the sequences start at 1).
const highestSQL = `(SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM %[1]s)`

// Sequences reads event_seq and job_id_seq. Sequences are not
// transactional: this is their state now, not as of the snapshot.
func (d dumper) Sequences() (meta.Sequences, error) {
	if err := d.t.live(); err != nil {
		return meta.Sequences{}, err
	}
	var ev, jobs int64
	_, err := d.t.one("sequences", `SELECT `+highest("event_seq")+`, `+highest("job_id_seq"), nil, &ev, &jobs)
	return meta.Sequences{Events: uint64(max(ev, 0)), Jobs: uint64(max(jobs, 0))}, err
}
