package postgres

import (
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/berthreg/berth/meta"
)

// records is the meta.Records view of one kind in a transaction.
type records struct {
	t    *tx
	kind string
	err  error // the kind's validation error, returned by every call
}

// Records returns the feature records of kind.
func (t *tx) Records(kind string) meta.Records {
	return records{t: t, kind: kind, err: meta.ValidKind(kind)}
}

func (r records) notFound(key string) error {
	return fmt.Errorf("meta/postgres: %s %q: %w", r.kind, key, meta.ErrNotFound)
}

// Get returns the value stored under key, or meta.ErrNotFound.
func (r records) Get(key string) ([]byte, error) {
	if r.err != nil {
		return nil, r.err
	}
	if err := r.t.live(); err != nil {
		return nil, err
	}
	if key == "" || !storable(key) {
		return nil, r.notFound(key)
	}
	var v []byte
	found, err := r.t.one("get "+r.kind, `SELECT value FROM records WHERE kind = $1 AND key = $2`, []any{r.kind, key}, &v)
	switch {
	case err != nil:
		return nil, err
	case !found:
		return nil, r.notFound(key)
	}
	return bytesArg(v), nil
}

// Put stores value under key; the write is deferred to the transaction's
// next round trip.
func (r records) Put(key string, value []byte) error {
	if r.err != nil {
		return r.err
	}
	if err := r.t.writable("put " + r.kind); err != nil {
		return err
	}
	if key == "" {
		return fmt.Errorf("meta/postgres: put %s: empty key", r.kind)
	}
	if err := checkText(r.kind+" key", key); err != nil {
		return err
	}
	return r.t.postpone("put "+r.kind, `
		INSERT INTO records (kind, key, value) VALUES ($1, $2, $3)
		ON CONFLICT (kind, key) DO UPDATE SET value = EXCLUDED.value`, r.kind, key, bytesArg(value))
}

// Delete removes key, or returns meta.ErrNotFound.
func (r records) Delete(key string) error {
	if r.err != nil {
		return r.err
	}
	if err := r.t.writable("delete " + r.kind); err != nil {
		return err
	}
	if key == "" || !storable(key) {
		return r.notFound(key)
	}
	tag, err := r.t.run("delete "+r.kind, `DELETE FROM records WHERE kind = $1 AND key = $2`, []any{r.kind, key}, nil)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return r.notFound(key)
	}
	return nil
}

// List returns up to limit records with keys after "after", in key order:
// one range of the primary key.
func (r records) List(after string, limit int) ([]meta.Record, error) {
	if r.err != nil {
		return nil, r.err
	}
	if err := r.t.live(); err != nil {
		return nil, err
	}
	bound, ok := lowerBound(after)
	if !ok {
		return nil, nil
	}
	var out []meta.Record
	_, err := r.t.run("list "+r.kind, `SELECT key, value FROM records WHERE kind = $1 AND key >= $2 ORDER BY key LIMIT $3`,
		[]any{r.kind, bound, limitArg(limit)}, func(rows pgx.Rows) error {
			var rec meta.Record
			err := rows.Scan(&rec.Key, &rec.Value)
			rec.Value = bytesArg(rec.Value)
			out = append(out, rec)
			return err
		})
	return out, err
}
