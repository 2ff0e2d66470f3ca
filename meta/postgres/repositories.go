package postgres

import (
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/berthreg/berth/meta"
)

// repositories is the meta.Repositories view of a tx.
type repositories struct{ t *tx }

// Repositories returns the repository catalog view of the transaction.
func (t *tx) Repositories() meta.Repositories { return repositories{t} }

func repoNotFound(name string) error {
	return fmt.Errorf("meta/postgres: repository %q: %w", name, meta.ErrNotFound)
}

// Get returns the repository, or meta.ErrNotFound.
func (r repositories) Get(name string) (meta.Repository, error) {
	if err := r.t.live(); err != nil {
		return meta.Repository{}, err
	}
	if !storable(name) {
		return meta.Repository{}, repoNotFound(name)
	}
	var at time.Time
	found, err := r.t.one("get repository", `SELECT created_at FROM repositories WHERE name = $1`, []any{name}, &at)
	switch {
	case err != nil:
		return meta.Repository{}, err
	case !found:
		return meta.Repository{}, repoNotFound(name)
	}
	r.t.sawRepoAt(name, at)
	return meta.Repository{Name: name, CreatedAt: at.UTC()}, nil
}

// Ensure returns the repository, creating it (with CreatedAt now) first if
// it does not exist, and counting it: one statement either way, which
// reads the catalog only when the repository exists (a creation takes no
// serializable read lock for concurrent creations to conflict with).
func (r repositories) Ensure(name string) (meta.Repository, bool, error) {
	if err := r.t.writable("ensure repository"); err != nil {
		return meta.Repository{}, false, err
	}
	if name == "" {
		return meta.Repository{}, false, errors.New("meta/postgres: empty repository name")
	}
	if err := checkText("repository", name); err != nil {
		return meta.Repository{}, false, err
	}
	if at, ok := r.t.repos[name]; ok && !at.IsZero() {
		// Read by an earlier statement of this transaction.
		return meta.Repository{Name: name, CreatedAt: at.UTC()}, false, nil
	}
	var at time.Time
	var created bool
	found, err := r.t.one("ensure repository", `
		WITH ins AS (
			INSERT INTO repositories (name, created_at) VALUES ($1, $2)
			ON CONFLICT (name) DO NOTHING RETURNING created_at
		),
		`+countRepoCTE("ins", 1, 3, 4)+`
		SELECT created_at, true FROM ins
		UNION ALL SELECT created_at, false FROM repositories WHERE name = $1 AND NOT EXISTS (SELECT 1 FROM ins)`,
		[]any{name, ts(time.Now()), scopes(name), r.t.counterShard()}, &at, &created)
	switch {
	case err != nil:
		return meta.Repository{}, false, err
	case !found:
		return meta.Repository{}, false, fmt.Errorf("meta/postgres: ensure repository %q: neither created nor found", name)
	}
	r.t.sawRepoAt(name, at)
	return meta.Repository{Name: name, CreatedAt: at.UTC()}, created, nil
}

// Delete removes the repository and uncounts it; its manifests, tags,
// children's links, counters and blob links go with it (the foreign keys
// cascade).
func (r repositories) Delete(name string) error {
	if err := r.t.writable("delete repository"); err != nil {
		return err
	}
	r.t.wroteTo(name)
	if !storable(name) {
		return repoNotFound(name)
	}
	tag, err := r.t.run("delete repository", `
		WITH gone AS (DELETE FROM repositories WHERE name = $1 RETURNING 1),
		`+countRepoCTE("gone", -1, 2, 3)+`
		SELECT berth_cache_drop($1) FROM gone`, []any{name, scopes(name), r.t.counterShard()}, nil)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return repoNotFound(name)
	}
	r.t.forgetRepo(name)
	return nil
}

// List returns up to limit repository names sorting after "after".
func (r repositories) List(after string, limit int) ([]string, error) {
	if err := r.t.live(); err != nil {
		return nil, err
	}
	bound, ok := lowerBound(after)
	if !ok {
		return nil, nil
	}
	var names []string
	_, err := r.t.run("list repositories", `SELECT name FROM repositories WHERE name >= $1 ORDER BY name LIMIT $2`,
		[]any{bound, limitArg(limit)}, func(rows pgx.Rows) error {
			var n string
			err := rows.Scan(&n)
			names = append(names, n)
			return err
		})
	return names, err
}
