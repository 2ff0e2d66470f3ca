package postgres

import (
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
)

// collector is the meta.Collector view of a transaction; collection,
// claims and tombstones are its three protocols.
type (
	collector  struct{ t *tx }
	collection struct{ t *tx }
	claims     struct{ t *tx }
	tombstones struct{ t *tx }
)

// Collector returns garbage collection's bookkeeping.
func (t *tx) Collector() meta.Collector { return collector{t} }

// Collection returns the collection window.
func (c collector) Collection() meta.Collection { return collection(c) }

// Claims returns the writers' claims.
func (c collector) Claims() meta.Claims { return claims(c) }

// Tombstones returns the sweep's tombstones.
func (c collector) Tombstones() meta.Tombstones { return tombstones(c) }

// Begin marks a collection active and clears the touched set.
//
// Under snapshot isolation a write whose snapshot predates the Begin sees
// no collection, records no touch, and may still commit after it, unseen
// by the collection's mark (which reads a later snapshot): the race that
// the touches exist to close. So Begin scans each table such a write
// writes with a sample scan (TABLESAMPLE, of no pages), which takes a
// relation-wide serializable read lock whatever the planner's settings:
// with the write's read of gc_state, which Begin overwrites, the two
// transactions conflict both ways, and PostgreSQL fails one of them,
// which Update runs again, now seeing the collection. Begin also drops
// the released claims (see Claims.Release).
func (c collection) Begin(at time.Time) error {
	if err := c.t.writable("begin collection"); err != nil {
		return err
	}
	_, err := c.t.run("begin collection", `
		WITH clear AS (DELETE FROM gc_touched),
		released AS (DELETE FROM gc_claims WHERE at = '-infinity'),
		mark AS (UPDATE gc_state SET active = true, since = $1)
		SELECT (SELECT 1 FROM manifests TABLESAMPLE SYSTEM (0) LIMIT 1),
			(SELECT 1 FROM tags TABLESAMPLE SYSTEM (0) LIMIT 1),
			(SELECT 1 FROM blob_links TABLESAMPLE SYSTEM (0) LIMIT 1)`,
		[]any{ts(at)}, nil)
	return err
}

// End marks the collection over.
func (c collection) End() error {
	if err := c.t.writable("end collection"); err != nil {
		return err
	}
	_, err := c.t.run("end collection", `UPDATE gc_state SET active = false, since = NULL`, nil, nil)
	return err
}

// Active reports whether a collection is active, and since when.
func (c collection) Active() (time.Time, bool, error) {
	if err := c.t.live(); err != nil {
		return time.Time{}, false, err
	}
	var active bool
	var since *time.Time
	if _, err := c.t.one("collection", `SELECT active, since FROM gc_state`, nil, &active, &since); err != nil {
		return time.Time{}, false, err
	}
	return fromNull(since), active, nil
}

// Touched reports whether d was referenced since Begin.
func (c collection) Touched(d digest.Digest) (bool, error) {
	if err := c.t.live(); err != nil {
		return false, err
	}
	if !storable(string(d)) {
		return false, nil
	}
	return c.t.one("touched", `SELECT true FROM gc_touched WHERE digest = $1`, []any{string(d)}, new(bool))
}

// Claim records that d's bytes are about to be written; the write is
// deferred to the transaction's next round trip.
func (c claims) Claim(d digest.Digest, at time.Time) error {
	if err := c.t.writable("claim"); err != nil {
		return err
	}
	if err := checkText("claim", string(d)); err != nil {
		return err
	}
	return c.t.postpone("claim", `INSERT INTO gc_claims (digest, at) VALUES ($1, $2) ON CONFLICT (digest) DO UPDATE SET at = EXCLUDED.at`,
		string(d), ts(at))
}

// ClaimUnlessTombstoned claims d unless it has a tombstone, in one
// statement deferred to the transaction's next round trip (a claim's
// transaction is then one round trip, its COMMIT's): for a tombstoned
// digest the statement fails (SQLSTATE BT001, see migration 0004), and so
// does the transaction, with meta.ErrTombstoned.
func (c claims) ClaimUnlessTombstoned(d digest.Digest, at time.Time) error {
	if err := c.t.writable("claim"); err != nil {
		return err
	}
	if err := checkText("claim", string(d)); err != nil {
		return err
	}
	return c.t.postpone("claim", `
		WITH dead AS (SELECT 1 FROM gc_tombstones WHERE digest = $1),
		claim AS (
			INSERT INTO gc_claims (digest, at) SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM dead)
			ON CONFLICT (digest) DO UPDATE SET at = EXCLUDED.at)
		SELECT berth_tombstoned($1) FROM dead`,
		string(d), ts(at))
}

// Release drops a claim (absent claims are no error): it marks the claim
// released (at -infinity) rather than deleting it, with an upsert, which
// takes no serializable read lock, where a DELETE would read the index
// page other uploads insert their claims into and make every push that
// releases a claim conflict with every upload claiming one. Released
// claims are invisible, and Collection.Begin deletes them. The write is
// deferred to the transaction's next round trip.
func (c claims) Release(d digest.Digest) error {
	if err := c.t.writable("release"); err != nil {
		return err
	}
	if !storable(string(d)) {
		return nil
	}
	return c.t.postpone("release", `
		INSERT INTO gc_claims (digest, at) VALUES ($1, '-infinity')
		ON CONFLICT (digest) DO UPDATE SET at = EXCLUDED.at WHERE gc_claims.at <> EXCLUDED.at`,
		string(d))
}

// Claimed returns when d was claimed, if it is.
func (c claims) Claimed(d digest.Digest) (time.Time, bool, error) {
	if err := c.t.live(); err != nil {
		return time.Time{}, false, err
	}
	if !storable(string(d)) {
		return time.Time{}, false, nil
	}
	var at time.Time
	found, err := c.t.one("claimed", `SELECT at FROM gc_claims WHERE digest = $1 AND at <> '-infinity'`, []any{string(d)}, &at)
	return at.UTC(), found, err
}

// Tombstone deletes d's registry-wide record and keeps a tombstone; the
// repositories' links stay, unreadable until a new Link brings a record
// back.
func (c tombstones) Tombstone(d digest.Digest, at time.Time) error {
	if err := c.t.writable("tombstone"); err != nil {
		return err
	}
	if err := checkText("tombstone", string(d)); err != nil {
		return err
	}
	_, err := c.t.run("tombstone", `
		WITH gone AS (DELETE FROM blobs WHERE digest = $1)
		INSERT INTO gc_tombstones (digest, at) VALUES ($1, $2) ON CONFLICT (digest) DO UPDATE SET at = EXCLUDED.at`,
		[]any{string(d), ts(at)}, nil)
	return err
}

// Tombstoned reports whether d has a tombstone.
func (c tombstones) Tombstoned(d digest.Digest) (bool, error) {
	if err := c.t.live(); err != nil {
		return false, err
	}
	if !storable(string(d)) {
		return false, nil
	}
	return c.t.one("tombstoned", `SELECT true FROM gc_tombstones WHERE digest = $1`, []any{string(d)}, new(bool))
}

// List lists up to limit tombstoned digests after "after".
func (c tombstones) List(after digest.Digest, limit int) ([]digest.Digest, error) {
	if err := c.t.live(); err != nil {
		return nil, err
	}
	bound, ok := lowerBound(string(after))
	if !ok {
		return nil, nil
	}
	var out []digest.Digest
	_, err := c.t.run("list tombstones", `SELECT digest FROM gc_tombstones WHERE digest >= $1 ORDER BY digest LIMIT $2`,
		[]any{bound, limitArg(limit)}, func(rows pgx.Rows) error {
			var d string
			err := rows.Scan(&d)
			out = append(out, digest.Digest(d))
			return err
		})
	if err != nil {
		return out, fmt.Errorf("meta/postgres: tombstones: %w", err)
	}
	return out, nil
}

// Bury drops d's tombstone.
func (c tombstones) Bury(d digest.Digest) error {
	if err := c.t.writable("bury"); err != nil {
		return err
	}
	if !storable(string(d)) {
		return nil
	}
	_, err := c.t.run("bury", `DELETE FROM gc_tombstones WHERE digest = $1`, []any{string(d)}, nil)
	return err
}
