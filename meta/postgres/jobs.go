package postgres

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/berthreg/berth/meta"
)

// jobs is the meta.Jobs view of a transaction.
type jobs struct{ t *tx }

// Jobs returns the job queue view of the transaction.
func (t *tx) Jobs() meta.Jobs { return jobs{t} }

const jobColumns = `id, kind, key, payload, state, attempts, max_attempts, run_at, worker, lease_until,
	last_error, result, created_at, updated_at, finished_at, given_back`

// scanJob reads a row of jobColumns.
func scanJob(rows pgx.Rows) (meta.Job, error) {
	var j meta.Job
	var id int64
	var key *string
	var state string
	var lease, finished *time.Time
	var lastErr []byte
	err := rows.Scan(&id, &j.Kind, &key, &j.Payload, &state, &j.Attempts, &j.MaxAttempts, &j.RunAt, &j.Worker, &lease,
		&lastErr, &j.Result, &j.CreatedAt, &j.UpdatedAt, &finished, &j.GivenBack)
	j.ID, j.State, j.LastError = uint64(id), meta.JobState(state), string(lastErr)
	if key != nil {
		j.Key = *key
	}
	j.RunAt, j.CreatedAt, j.UpdatedAt = j.RunAt.UTC(), j.CreatedAt.UTC(), j.UpdatedAt.UTC()
	j.LeaseUntil, j.FinishedAt = fromNull(lease), fromNull(finished)
	return j, err
}

// normalize returns j with its times as PostgreSQL keeps them, so that
// what Enqueue and Lease return equals what Get reads back.
func normalize(j meta.Job) meta.Job {
	j.RunAt, j.CreatedAt, j.UpdatedAt = ts(j.RunAt), ts(j.CreatedAt), ts(j.UpdatedAt)
	if !j.LeaseUntil.IsZero() {
		j.LeaseUntil = ts(j.LeaseUntil)
	}
	if !j.FinishedAt.IsZero() {
		j.FinishedAt = ts(j.FinishedAt)
	}
	return j
}

// checkJob refuses a job whose text fields a text column cannot hold.
func checkJob(j meta.Job) error {
	for _, f := range []struct{ what, s string }{{"job kind", j.Kind}, {"job key", j.Key}, {"job state", string(j.State)}, {"job worker", j.Worker}} {
		if err := checkText(f.what, f.s); err != nil {
			return err
		}
	}
	return nil
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func jobNotFound(id uint64) error {
	return fmt.Errorf("meta/postgres: job %d: %w", id, meta.ErrNotFound)
}

// Enqueue adds j as a pending job with an id from job_id_seq. A taken key
// is found by the insert itself (ON CONFLICT DO NOTHING), so ErrDuplicate
// leaves the transaction usable.
func (q jobs) Enqueue(j meta.Job, now time.Time) (meta.Job, error) {
	if err := q.t.writable("enqueue job"); err != nil {
		return j, err
	}
	if j.Kind == "" {
		return j, errors.New("meta/postgres: enqueue job: empty kind")
	}
	now = ts(now)
	j.State, j.Attempts, j.GivenBack, j.CreatedAt, j.UpdatedAt = meta.JobPending, 0, 0, now, now
	j.Worker, j.LeaseUntil, j.FinishedAt = "", time.Time{}, time.Time{}
	if j.RunAt.IsZero() {
		j.RunAt = now
	}
	j = normalize(j)
	if err := checkJob(j); err != nil {
		return j, err
	}
	var id int64
	found, err := q.t.one("enqueue job", `
		INSERT INTO jobs (`+jobColumns+`)
		VALUES (nextval('job_id_seq'), $1, $2, $3, $4, 0, $5, $6, '', NULL, $7, $8, $9, $9, NULL, 0)
		ON CONFLICT (key) DO NOTHING RETURNING id`,
		[]any{j.Kind, nullString(j.Key), j.Payload, string(j.State), j.MaxAttempts, j.RunAt, []byte(j.LastError), j.Result, now}, &id)
	switch {
	case err != nil:
		return j, err
	case !found:
		return j, fmt.Errorf("meta/postgres: job key %q: %w", j.Key, meta.ErrDuplicate)
	}
	j.ID = uint64(id)
	return j, nil
}

// Get returns the job with id, or meta.ErrNotFound.
func (q jobs) Get(id uint64) (meta.Job, error) {
	if err := q.t.live(); err != nil {
		return meta.Job{}, err
	}
	n, ok := seqArg(id)
	if !ok {
		return meta.Job{}, jobNotFound(id)
	}
	var j meta.Job
	found := false
	_, err := q.t.run("get job", `SELECT `+jobColumns+` FROM jobs WHERE id = $1`, []any{n}, func(rows pgx.Rows) error {
		var err error
		j, err = scanJob(rows)
		found = true
		return err
	})
	switch {
	case err != nil:
		return meta.Job{}, err
	case !found:
		return meta.Job{}, jobNotFound(id)
	}
	return j, nil
}

// Put replaces an existing job's record; its key cannot change.
func (q jobs) Put(j meta.Job) error {
	if err := q.t.writable("put job"); err != nil {
		return err
	}
	n, ok := seqArg(j.ID)
	if !ok {
		return jobNotFound(j.ID)
	}
	j = normalize(j)
	if err := checkJob(j); err != nil {
		return err
	}
	var exists, updated int
	_, err := q.t.one("put job", `
		WITH old AS (SELECT 1 FROM jobs WHERE id = $1),
		upd AS (
			UPDATE jobs SET kind = $2, payload = $3, state = $4, attempts = $5, max_attempts = $6, run_at = $7,
				worker = $8, lease_until = $9, last_error = $10, result = $11, created_at = $12, updated_at = $13,
				finished_at = $14, given_back = $16
			WHERE id = $1 AND key IS NOT DISTINCT FROM $15 RETURNING 1)
		SELECT (SELECT count(*) FROM old), (SELECT count(*) FROM upd)`,
		[]any{n, j.Kind, j.Payload, string(j.State), j.Attempts, j.MaxAttempts, j.RunAt, j.Worker, nullTS(j.LeaseUntil),
			[]byte(j.LastError), j.Result, j.CreatedAt, j.UpdatedAt, nullTS(j.FinishedAt), nullString(j.Key), j.GivenBack}, &exists, &updated)
	switch {
	case err != nil:
		return err
	case exists == 0:
		return jobNotFound(j.ID)
	case updated == 0:
		return fmt.Errorf("meta/postgres: put job %d: its key cannot change", j.ID)
	}
	return nil
}

// dueSQL selects the active jobs of the kinds in $1 that are due at $2.
const dueSQL = `state IN ('pending', 'running') AND kind = ANY($1::text[])
	AND CASE WHEN state = 'pending' THEN run_at <= $2 ELSE coalesce(lease_until, '-infinity') <= $2 END`

// Lease takes the due job of kinds with the earliest run_at (then id),
// skipping kinds that have limit[kind] unexpired leases, in one
// statement. FOR UPDATE SKIP LOCKED lets concurrent leasers pass over a
// job another is taking instead of queueing behind it; the limits hold
// across processes because the count and the lease are in one
// SERIALIZABLE transaction: two leasers that each counted the other's job
// as not running conflict, and one of them runs again.
func (q jobs) Lease(kinds []string, limit map[string]int, worker string, now, until time.Time) (meta.Job, error) {
	if err := q.t.writable("lease job"); err != nil {
		return meta.Job{}, err
	}
	if err := checkText("job worker", worker); err != nil {
		return meta.Job{}, err
	}
	var ks, capped []string
	var caps []int32
	for _, k := range kinds {
		if storable(k) {
			ks = append(ks, k)
		}
	}
	for k, n := range limit {
		if storable(k) {
			capped, caps = append(capped, k), append(caps, int32(max(n, 0)))
		}
	}
	var j meta.Job
	found := false
	_, err := q.t.run("lease job", `
		WITH cap AS (SELECT * FROM unnest($3::text[], $4::int[]) AS c(kind, n)),
		busy AS (
			SELECT cap.kind FROM cap
			WHERE cap.n <= (SELECT count(*) FROM jobs WHERE state = 'running' AND kind = cap.kind AND lease_until > $2)),
		pick AS (
			SELECT id FROM jobs WHERE `+dueSQL+` AND kind NOT IN (SELECT kind FROM busy)
			ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
		UPDATE jobs SET state = 'running', worker = $5, lease_until = $6, updated_at = $2, attempts = jobs.attempts + 1
		FROM pick WHERE jobs.id = pick.id
		RETURNING `+prefixed("jobs.", jobColumns),
		[]any{ks, ts(now), capped, caps, worker, ts(until)}, func(rows pgx.Rows) error {
			var err error
			j, err = scanJob(rows)
			found = true
			return err
		})
	switch {
	case err != nil:
		return meta.Job{}, err
	case !found:
		return meta.Job{}, fmt.Errorf("meta/postgres: no job to lease: %w", meta.ErrNotFound)
	}
	return j, nil
}

// Due reports whether a job of kinds is available at now.
func (q jobs) Due(kinds []string, now time.Time) (bool, error) {
	if err := q.t.live(); err != nil {
		return false, err
	}
	var ks []string
	for _, k := range kinds {
		if storable(k) {
			ks = append(ks, k)
		}
	}
	return q.t.one("due jobs", `SELECT true FROM jobs WHERE `+dueSQL+` LIMIT 1`, []any{ks, ts(now)}, new(bool))
}

// List returns up to limit jobs matching f after id after, in id order.
func (q jobs) List(f meta.JobFilter, after uint64, limit int) ([]meta.Job, error) {
	if err := q.t.live(); err != nil {
		return nil, err
	}
	from, ok := seqArg(after)
	if !ok || !storable(f.Kind) || !storable(string(f.State)) {
		return nil, nil
	}
	var out []meta.Job
	_, err := q.t.run("list jobs", `
		SELECT `+jobColumns+` FROM jobs
		WHERE id > $1 AND ($2 = '' OR kind = $2) AND ($3 = '' OR state = $3)
		ORDER BY id LIMIT $4`, []any{from, f.Kind, string(f.State), limitArg(limit)}, func(rows pgx.Rows) error {
		j, err := scanJob(rows)
		out = append(out, j)
		return err
	})
	return out, err
}

// Delete removes a job and with it its key.
func (q jobs) Delete(id uint64) error {
	if err := q.t.writable("delete job"); err != nil {
		return err
	}
	n, ok := seqArg(id)
	if !ok {
		return jobNotFound(id)
	}
	tag, err := q.t.run("delete job", `DELETE FROM jobs WHERE id = $1`, []any{n}, nil)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return jobNotFound(id)
	}
	return nil
}

// prefixed qualifies each of the comma-separated columns with prefix.
func prefixed(prefix, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = prefix + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}
