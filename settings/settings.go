package settings

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/berthreg/berth/meta"
)

// Setting is a named piece of configuration changed at run time (the
// garbage collection schedule, the default scanner), kept with the
// metadata so that every instance and every restart sees it.
type Setting struct {
	// Name identifies the setting ("gc.schedule").
	Name string `json:"name"`
	// Value is its JSON value.
	Value json.RawMessage `json:"value"`
	// UpdatedAt is when it last changed.
	UpdatedAt time.Time `json:"updatedAt"`
}

// Records is where settings are kept, keyed by name.
var Records = meta.RecordType[Setting]{Kind: "settings", Key: func(s Setting) string { return s.Name }}

// Load decodes the setting name into v and reports whether it is set; an
// unset setting leaves v alone.
func Load(tx meta.Tx, name string, v any) (bool, error) {
	s, err := Records.In(tx).Get(name)
	switch {
	case errors.Is(err, meta.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	if err := json.Unmarshal(s.Value, v); err != nil {
		return false, fmt.Errorf("settings: %s: %w", name, err)
	}
	return true, nil
}

// Save stores v, JSON-encoded, as the setting name, changed at now.
func Save(tx meta.Tx, name string, v any, now time.Time) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("settings: %s: %w", name, err)
	}
	return Records.In(tx).Put(Setting{Name: name, Value: raw, UpdatedAt: now.UTC()})
}
