package postgres

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/berthreg/berth/meta"
)

// cursors is the meta.Table of the event log's consumers' positions, kept
// as JSON by name (written once per consumed batch, not on every registry
// request; JSON lets the record grow without a migration).
type cursors struct{ t *tx }

// Cursors returns the event log consumers' cursors.
func (t *tx) Cursors() meta.Table[meta.Cursor] { return cursors{t} }

func cursorNotFound(name string) error {
	return fmt.Errorf("meta/postgres: cursor %q: %w", name, meta.ErrNotFound)
}

func decodeCursor(name string, body []byte) (meta.Cursor, error) {
	var c meta.Cursor
	if err := json.Unmarshal(body, &c); err != nil {
		return c, fmt.Errorf("meta/postgres: cursor %q: %w", name, err)
	}
	if c.Name != name {
		return c, fmt.Errorf("meta/postgres: cursor %q: record names %q", name, c.Name)
	}
	c.UpdatedAt = c.UpdatedAt.UTC()
	return c, nil
}

// Get returns the cursor with the given name, or meta.ErrNotFound.
func (c cursors) Get(name string) (meta.Cursor, error) {
	if err := c.t.live(); err != nil {
		return meta.Cursor{}, err
	}
	if !storable(name) {
		return meta.Cursor{}, cursorNotFound(name)
	}
	var body []byte
	found, err := c.t.one("get cursor", `SELECT body FROM cursors WHERE name = $1`, []any{name}, &body)
	switch {
	case err != nil:
		return meta.Cursor{}, err
	case !found:
		return meta.Cursor{}, cursorNotFound(name)
	}
	return decodeCursor(name, body)
}

// Put creates or replaces the cursor named by v.
func (c cursors) Put(v meta.Cursor) error {
	if err := c.t.writable("put cursor"); err != nil {
		return err
	}
	if v.Name == "" {
		return errors.New("meta/postgres: put cursor: empty name")
	}
	if err := checkText("cursor", v.Name); err != nil {
		return err
	}
	v.UpdatedAt = v.UpdatedAt.UTC()
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("meta/postgres: put cursor %q: %w", v.Name, err)
	}
	_, err = c.t.run("put cursor", `
		INSERT INTO cursors (name, body) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET body = EXCLUDED.body`,
		[]any{v.Name, body}, nil)
	return err
}

// Delete removes the cursor, or returns meta.ErrNotFound.
func (c cursors) Delete(name string) error {
	if err := c.t.writable("delete cursor"); err != nil {
		return err
	}
	if !storable(name) {
		return cursorNotFound(name)
	}
	tag, err := c.t.run("delete cursor", `DELETE FROM cursors WHERE name = $1`, []any{name}, nil)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return cursorNotFound(name)
	}
	return nil
}

// List returns up to limit cursors with names after "after", in name
// order.
func (c cursors) List(after string, limit int) ([]meta.Cursor, error) {
	if err := c.t.live(); err != nil {
		return nil, err
	}
	bound, ok := lowerBound(after)
	if !ok {
		return nil, nil
	}
	var out []meta.Cursor
	_, err := c.t.run("list cursors", `SELECT name, body FROM cursors WHERE name >= $1 ORDER BY name LIMIT $2`,
		[]any{bound, limitArg(limit)}, func(rows pgx.Rows) error {
			var name string
			var body []byte
			if err := rows.Scan(&name, &body); err != nil {
				return err
			}
			cur, err := decodeCursor(name, body)
			out = append(out, cur)
			return err
		})
	return out, err
}
