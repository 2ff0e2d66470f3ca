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

// storableKeys are the keys of keys that a record can have (others hold
// nothing).
func storableKeys(keys []string) []string {
	ask := make([]string, 0, len(keys))
	for _, key := range keys {
		if key != "" && storable(key) {
			ask = append(ask, key)
		}
	}
	return ask
}

// GetMany returns the values stored under keys, leaving out the absent:
// one statement.
func (r records) GetMany(keys []string) (map[string][]byte, error) {
	if r.err != nil {
		return nil, r.err
	}
	if err := r.t.live(); err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(keys))
	ask := storableKeys(keys)
	if len(ask) == 0 {
		return out, nil
	}
	_, err := r.t.run("get many "+r.kind, `SELECT key, value FROM records WHERE kind = $1 AND key = ANY($2::text[])`,
		[]any{r.kind, ask}, func(rows pgx.Rows) error {
			var (
				key string
				v   []byte
			)
			err := rows.Scan(&key, &v)
			out[key] = bytesArg(v)
			return err
		})
	return out, err
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

// PutNew stores the records whose keys hold none, returning their keys,
// and reads the keys in read: one INSERT … ON CONFLICT DO NOTHING, which
// takes no predicate lock on the keys that exist, and the read in the
// same statement (which sees the records as they were before it).
func (r records) PutNew(recs []meta.Record, read ...string) ([]string, map[string][]byte, error) {
	if r.err != nil {
		return nil, nil, r.err
	}
	if err := r.t.writable("put " + r.kind); err != nil {
		return nil, nil, err
	}
	keys, values := make([]string, 0, len(recs)), make([][]byte, 0, len(recs))
	seen := make(map[string]bool, len(recs))
	for _, rec := range recs {
		if rec.Key == "" {
			return nil, nil, fmt.Errorf("meta/postgres: put %s: empty key", r.kind)
		}
		if err := checkText(r.kind+" key", rec.Key); err != nil {
			return nil, nil, err
		}
		if !seen[rec.Key] {
			seen[rec.Key] = true
			keys, values = append(keys, rec.Key), append(values, bytesArg(rec.Value))
		}
	}
	ask := storableKeys(read)
	got := map[string][]byte{}
	if len(keys) == 0 && len(ask) == 0 {
		return nil, got, nil
	}
	added := map[string]bool{}
	_, err := r.t.run("put new "+r.kind, `
		WITH added AS (
			INSERT INTO records (kind, key, value)
			SELECT $1, k, v FROM unnest($2::text[], $3::bytea[]) AS n(k, v)
			ON CONFLICT (kind, key) DO NOTHING RETURNING key)
		SELECT key, NULL::bytea, true FROM added
		UNION ALL
		SELECT key, value, false FROM records WHERE kind = $1 AND key = ANY($4::text[])`,
		[]any{r.kind, keys, values, ask}, func(rows pgx.Rows) error {
			var (
				k     string
				v     []byte
				isNew bool
			)
			err := rows.Scan(&k, &v, &isNew)
			if isNew {
				added[k] = true
			} else {
				got[k] = bytesArg(v)
			}
			return err
		})
	if err != nil {
		return nil, nil, err
	}
	var stored []string
	for _, k := range keys {
		if added[k] {
			stored = append(stored, k)
		}
	}
	return stored, got, nil
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
