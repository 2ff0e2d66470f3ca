package postgres

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/berthreg/berth/meta"
)

// restorer is the meta.Restorer of a transaction. Each write is one
// statement that finds a conflict with ON CONFLICT DO NOTHING, so
// meta.ErrExists leaves the transaction usable.
type restorer struct{ t *tx }

// highest returns highestSQL for the sequence seq.
func highest(seq string) string { return fmt.Sprintf(highestSQL, seq) }

// raiseCTE is a CTE named name that moves the sequence seq up to the
// bigint parameter $n when it has handed out less and cond holds (setval
// is not transactional: a rollback keeps it raised, which only skips
// numbers).
func raiseCTE(name, seq string, n int, cond string) string {
	return fmt.Sprintf(`%s AS (SELECT setval('%s', $%d::bigint) FROM %s WHERE %s < $%d::bigint AND %s)`,
		name, seq, n, seq, highest(seq), n, cond)
}

// insert runs sql, whose one row's first column counts the rows it
// inserted (its other columns, if any, are scanned into more), and
// returns meta.ErrExists naming what when it inserted none.
func (r restorer) insert(what, sql string, args []any, more ...any) error {
	var n int64
	if _, err := r.t.one("restore "+what, sql, args, append([]any{&n}, more...)...); err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("meta/postgres: restore %s: %w", what, meta.ErrExists)
	}
	return nil
}

// Repository creates the repository with its recorded creation time,
// and counts it.
func (r restorer) Repository(repo meta.Repository) error {
	if err := r.t.writable("restore repository"); err != nil {
		return err
	}
	if repo.Name == "" {
		return errors.New("meta/postgres: restore repository: empty name")
	}
	if err := checkText("repository", repo.Name); err != nil {
		return err
	}
	return r.insert(fmt.Sprintf("repository %q", repo.Name), `
		WITH ins AS (INSERT INTO repositories (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING 1),
		`+countRepoCTE("ins", 1, 3, 4)+`
		SELECT count(*) FROM ins`, []any{repo.Name, ts(repo.CreatedAt), scopes(repo.Name), r.t.counterShard()})
}

// Blob creates a registry-wide blob record.
func (r restorer) Blob(b meta.Blob) error {
	if err := r.t.writable("restore blob"); err != nil {
		return err
	}
	if err := checkDigest("blob", string(b.Digest)); err != nil {
		return err
	}
	return r.insert("blob "+string(b.Digest), `
		WITH ins AS (INSERT INTO blobs (digest, size, created_at) VALUES ($1, $2, $3) ON CONFLICT (digest) DO NOTHING RETURNING 1)
		SELECT count(*) FROM ins`, []any{string(b.Digest), b.Size, ts(b.CreatedAt)})
}

// Link links b into repo with b's record.
func (r restorer) Link(repo string, b meta.Blob) error {
	if err := r.t.writable("restore link"); err != nil {
		return err
	}
	if err := checkDigest("link", string(b.Digest)); err != nil {
		return err
	}
	if !storable(repo) {
		return repoNotFound(repo)
	}
	var repos int64
	err := r.insert(fmt.Sprintf("link of %s into %q", b.Digest, repo), `
		WITH r AS (SELECT id FROM repositories WHERE name = $1),
		ins AS (
			INSERT INTO blob_links (repo_id, digest, size, created_at) SELECT id, $2, $3, $4 FROM r
			ON CONFLICT (repo_id, digest) DO NOTHING RETURNING 1)
		SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM r)`,
		[]any{repo, string(b.Digest), b.Size, ts(b.CreatedAt)}, &repos)
	if errors.Is(err, meta.ErrExists) && repos == 0 {
		return repoNotFound(repo)
	}
	return err
}

// Event stores e under its sequence number, with the restoring
// transaction's own xid as its horizon, and raises event_seq to at least
// e.Seq. The horizon settles the numbers missing below e once the
// restore has committed and every transaction older than it has ended,
// as Events.List requires: a number in such a gap can only be held by a
// transaction that took it from event_seq, which hands out nothing below
// what was restored once the restore is done.
func (r restorer) Event(e meta.Event) error {
	if err := r.t.writable("restore event"); err != nil {
		return err
	}
	seq, ok := seqArg(e.Seq)
	if !ok || seq == 0 {
		return fmt.Errorf("meta/postgres: restore event: sequence number %d out of range", e.Seq)
	}
	e.Seq, e.Time = 0, ts(e.Time) // the row's seq column holds it, as Append's rows do
	body, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("meta/postgres: restore event %d: %w", seq, err)
	}
	return r.insert(fmt.Sprintf("event %d", seq), `
		WITH ins AS (
			INSERT INTO events (seq, horizon, time, body) VALUES ($1::bigint, pg_current_xact_id(), $2, $3)
			ON CONFLICT (seq) DO NOTHING RETURNING 1),
		`+raiseCTE("raise", "event_seq", 1, "EXISTS (SELECT 1 FROM ins)")+`
		SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM raise)`, []any{seq, e.Time, body}, new(int64))
}

// Job stores j as it is and raises job_id_seq to at least j.ID. A job
// holding j.ID or j.Key makes it meta.ErrExists.
func (r restorer) Job(j meta.Job) error {
	if err := r.t.writable("restore job"); err != nil {
		return err
	}
	id, ok := seqArg(j.ID)
	if !ok || id == 0 || j.Kind == "" {
		return fmt.Errorf("meta/postgres: restore job %d: needs an id (up to 2^63-1) and a kind", j.ID)
	}
	j = normalize(j)
	if err := checkJob(j); err != nil {
		return err
	}
	return r.insert(fmt.Sprintf("job %d", j.ID), `
		WITH ins AS (
			INSERT INTO jobs (`+jobColumns+`)
			VALUES ($1::bigint, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
			ON CONFLICT DO NOTHING RETURNING 1),
		`+raiseCTE("raise", "job_id_seq", 1, "EXISTS (SELECT 1 FROM ins)")+`
		SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM raise)`,
		[]any{id, j.Kind, nullString(j.Key), j.Payload, string(j.State), j.Attempts, j.MaxAttempts, j.RunAt, j.Worker,
			nullTS(j.LeaseUntil), []byte(j.LastError), j.Result, j.CreatedAt, j.UpdatedAt, nullTS(j.FinishedAt), j.GivenBack},
		new(int64))
}

// Tombstone records a tombstone, leaving the blob record alone.
func (r restorer) Tombstone(s meta.Stamp) error {
	if err := r.t.writable("restore tombstone"); err != nil {
		return err
	}
	if err := checkDigest("tombstone", string(s.Digest)); err != nil {
		return err
	}
	return r.insert("tombstone "+string(s.Digest), `
		WITH ins AS (INSERT INTO gc_tombstones (digest, at) VALUES ($1, $2) ON CONFLICT (digest) DO NOTHING RETURNING 1)
		SELECT count(*) FROM ins`, []any{string(s.Digest), ts(s.At)})
}

// Sequences raises event_seq and job_id_seq to at least s.
func (r restorer) Sequences(s meta.Sequences) error {
	if err := r.t.writable("restore sequences"); err != nil {
		return err
	}
	ev, ok1 := seqArg(s.Events)
	jobs, ok2 := seqArg(s.Jobs)
	if !ok1 || !ok2 {
		return fmt.Errorf("meta/postgres: restore sequences %+v: out of range", s)
	}
	_, err := r.t.one("restore sequences", `
		WITH `+raiseCTE("ev", "event_seq", 1, "true")+`, `+raiseCTE("jobs", "job_id_seq", 2, "true")+`
		SELECT (SELECT count(*) FROM ev), (SELECT count(*) FROM jobs)`, []any{ev, jobs}, new(int64), new(int64))
	return err
}

// checkDigest refuses an empty digest or one a text column cannot hold.
func checkDigest(what, d string) error {
	if d == "" {
		return fmt.Errorf("meta/postgres: restore %s: empty digest", what)
	}
	return checkText(what+" digest", d)
}
