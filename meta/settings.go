package meta

import (
	"encoding/json"
	"time"
)

// Setting is a named piece of configuration changed at run time (the
// garbage collection schedule), kept with the metadata so that every
// instance and every restart sees it.
type Setting struct {
	// Name identifies the setting ("gc.schedule").
	Name string `json:"name"`
	// Value is its JSON value.
	Value json.RawMessage `json:"value"`
	// UpdatedAt is when it last changed.
	UpdatedAt time.Time `json:"updatedAt"`
}
