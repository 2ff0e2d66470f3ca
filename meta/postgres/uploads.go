package postgres

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/berthreg/berth/meta"
)

// uploads is the meta.Uploads view of a tx.
type uploads struct{ t *tx }

// Uploads returns the upload sessions view of the transaction.
func (t *tx) Uploads() meta.Uploads { return uploads{t} }

const uploadColumns = `id, repository, "offset", hash_state, driver_state, started_at, updated_at`

func scanUpload(rows pgx.Rows) (meta.Upload, error) {
	var u meta.Upload
	err := rows.Scan(&u.ID, &u.Repository, &u.Offset, &u.HashState, &u.DriverState, &u.StartedAt, &u.UpdatedAt)
	u.StartedAt, u.UpdatedAt = u.StartedAt.UTC(), u.UpdatedAt.UTC()
	return u, err
}

// Get returns the session with the given id, or meta.ErrNotFound.
func (u uploads) Get(id string) (meta.Upload, error) {
	if err := u.t.live(); err != nil {
		return meta.Upload{}, err
	}
	notFound := fmt.Errorf("meta/postgres: upload %q: %w", id, meta.ErrNotFound)
	if !storable(id) {
		return meta.Upload{}, notFound
	}
	var rec meta.Upload
	found := false
	_, err := u.t.run("get upload", `SELECT `+uploadColumns+` FROM uploads WHERE id = $1`, []any{id}, func(rows pgx.Rows) error {
		var err error
		rec, err = scanUpload(rows)
		found = true
		return err
	})
	switch {
	case err != nil:
		return meta.Upload{}, err
	case !found:
		return meta.Upload{}, notFound
	}
	return rec, nil
}

// Put creates or replaces the session rec.ID; the write is deferred to the
// transaction's next round trip.
func (u uploads) Put(rec meta.Upload) error {
	if err := u.t.writable("put upload"); err != nil {
		return err
	}
	if rec.ID == "" {
		return errors.New("meta/postgres: put upload: empty id")
	}
	if err := checkText("upload id", rec.ID); err != nil {
		return err
	}
	if err := checkText("upload repository", rec.Repository); err != nil {
		return err
	}
	return u.t.postpone("put upload", `
		INSERT INTO uploads (`+uploadColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (id) DO UPDATE SET repository = EXCLUDED.repository, "offset" = EXCLUDED."offset",
			hash_state = EXCLUDED.hash_state, driver_state = EXCLUDED.driver_state,
			started_at = EXCLUDED.started_at, updated_at = EXCLUDED.updated_at`,
		rec.ID, rec.Repository, rec.Offset, rec.HashState, rec.DriverState, ts(rec.StartedAt), ts(rec.UpdatedAt))
}

// Delete removes the session, or returns meta.ErrNotFound.
func (u uploads) Delete(id string) error {
	if err := u.t.writable("delete upload"); err != nil {
		return err
	}
	notFound := fmt.Errorf("meta/postgres: upload %q: %w", id, meta.ErrNotFound)
	if !storable(id) {
		return notFound
	}
	tag, err := u.t.run("delete upload", `DELETE FROM uploads WHERE id = $1`, []any{id}, nil)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return notFound
	}
	return nil
}

// List returns up to limit sessions with ids after "after", in id order.
func (u uploads) List(after string, limit int) ([]meta.Upload, error) {
	if err := u.t.live(); err != nil {
		return nil, err
	}
	bound, ok := lowerBound(after)
	if !ok {
		return nil, nil
	}
	var out []meta.Upload
	_, err := u.t.run("list uploads", `SELECT `+uploadColumns+` FROM uploads WHERE id >= $1 ORDER BY id LIMIT $2`,
		[]any{bound, limitArg(limit)}, func(rows pgx.Rows) error {
			rec, err := scanUpload(rows)
			out = append(out, rec)
			return err
		})
	return out, err
}
