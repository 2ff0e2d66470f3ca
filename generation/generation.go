package generation

import (
	"errors"
	"fmt"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry/naming"
)

// Kind is the record kind the counters are kept under, keyed by name.
const Kind = "generations"

// ErrBadName reports a counter name that is not 1 to 64 ASCII letters,
// digits, dots, dashes and underscores.
var ErrBadName = errors.New("generation: bad name")

// counter is one named counter as stored.
type counter struct {
	Name  string `json:"name"`
	Value uint64 `json:"value"`
}

var counters = meta.RecordType[counter]{Kind: Kind, Key: func(c counter) string { return c.Name }}

// checkName checks a counter name.
func checkName(name string) error {
	if err := naming.CheckName(name); err != nil {
		return fmt.Errorf("%w %q: %v", ErrBadName, name, err)
	}
	return nil
}

// Bump advances counter name by one in tx, the read-write transaction that
// makes the change it stands for: the change and the bump commit together
// or not at all. A counter never bumped is 0.
func Bump(tx meta.Tx, name string) error {
	_, err := Advance(tx, name)
	return err
}

// Advance is Bump returning the counter's new value: a process that
// applies its own change to its state, and knew the state at the value
// before, knows its state is at the new one without reading it again.
func Advance(tx meta.Tx, name string) (uint64, error) {
	if err := checkName(name); err != nil {
		return 0, err
	}
	t := counters.In(tx)
	c, err := t.Get(name)
	switch {
	case errors.Is(err, meta.ErrNotFound):
		c = counter{Name: name}
	case err != nil:
		return 0, fmt.Errorf("generation: %s: %w", name, err)
	}
	c.Value++
	if err := t.Put(c); err != nil {
		return 0, fmt.Errorf("generation: %s: %w", name, err)
	}
	return c.Value, nil
}

// Value returns counter name as tx sees it (0 when never bumped).
func Value(tx meta.Tx, name string) (uint64, error) {
	if err := checkName(name); err != nil {
		return 0, err
	}
	c, err := counters.In(tx).Get(name)
	switch {
	case errors.Is(err, meta.ErrNotFound):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("generation: %s: %w", name, err)
	}
	return c.Value, nil
}

// all returns every counter tx sees, by name.
func all(tx meta.Tx) (map[string]uint64, error) {
	list, err := counters.In(tx).List("", 0)
	if err != nil {
		return nil, fmt.Errorf("generation: %w", err)
	}
	out := make(map[string]uint64, len(list))
	for _, c := range list {
		out[c.Name] = c.Value
	}
	return out, nil
}
