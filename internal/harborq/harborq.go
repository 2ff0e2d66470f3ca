// Package harborq reads Harbor's q query parameter, the filter of its list
// endpoints: comma-separated conditions, all of which an item must meet:
// key=value (exact), key=~text (substring), key=[min~max] (a range,
// either end may be empty), key={a b c} (any of the space-separated
// values: a union) or key=(a b c) (all of them: an intersection, for
// fields that hold several values, such as an artifact's labels).
package harborq

import (
	"fmt"
	"slices"
	"strings"
)

// Query is a parsed q; the zero value keeps everything.
type Query struct {
	conds []cond
}

type cond struct{ key, val string }

// Kind is what a condition asks of its key's value.
type Kind int

// The kinds of condition.
const (
	// Exact: the value is Value.
	Exact Kind = iota
	// Fuzzy: the value contains Value.
	Fuzzy
	// Range: Min <= value <= Max (an empty end is open).
	Range
	// AnyOf: the value is one of Values.
	AnyOf
	// AllOf: the values include every one of Values.
	AllOf
)

// Cond is one condition of a query.
type Cond struct {
	// Key is the field it is on.
	Key string
	// Kind is what it asks.
	Kind Kind
	// Value is the Exact or Fuzzy operand.
	Value string
	// Min and Max are the Range's ends.
	Min, Max string
	// Values are the AnyOf or AllOf operands.
	Values []string
}

// Conds returns q's conditions in the order given.
func (q Query) Conds() []Cond {
	out := make([]Cond, 0, len(q.conds))
	for _, c := range q.conds {
		out = append(out, c.typed())
	}
	return out
}

// typed reads the operand of c.
func (c cond) typed() Cond {
	v := c.val
	switch {
	case strings.HasPrefix(v, "~"):
		return Cond{Key: c.key, Kind: Fuzzy, Value: v[1:]}
	case len(v) >= 2 && v[0] == '[' && v[len(v)-1] == ']':
		lo, hi, _ := strings.Cut(v[1:len(v)-1], "~")
		return Cond{Key: c.key, Kind: Range, Min: strings.TrimSpace(lo), Max: strings.TrimSpace(hi)}
	case len(v) >= 2 && v[0] == '{' && v[len(v)-1] == '}':
		return Cond{Key: c.key, Kind: AnyOf, Values: strings.Fields(v[1 : len(v)-1])}
	case len(v) >= 2 && v[0] == '(' && v[len(v)-1] == ')':
		return Cond{Key: c.key, Kind: AllOf, Values: strings.Fields(v[1 : len(v)-1])}
	}
	return Cond{Key: c.key, Kind: Exact, Value: v}
}

// Parse reads q, whose conditions may name only keys.
func Parse(q string, keys ...string) (Query, error) {
	var out Query
	for part := range strings.SplitSeq(q, ",") {
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok || !slices.Contains(keys, k) {
			return Query{}, fmt.Errorf("q: %q is not key=value or key=~text on %s", part, strings.Join(keys, ", "))
		}
		if (strings.HasPrefix(v, "[") && !strings.Contains(v, "~")) || strings.HasPrefix(v, "[") != strings.HasSuffix(v, "]") {
			return Query{}, fmt.Errorf("q: %q: a range is [min~max]", part)
		}
		out.conds = append(out.conds, cond{k, v})
	}
	return out, nil
}

// Empty reports whether q keeps everything.
func (q Query) Empty() bool { return len(q.conds) == 0 }

// Match reports whether the item whose values get reads meets every
// condition of q.
func (q Query) Match(get func(key string) string) bool {
	for _, c := range q.Conds() {
		got := get(c.Key)
		var ok bool
		switch c.Kind {
		case Fuzzy:
			ok = strings.Contains(got, c.Value)
		case Range:
			ok = (c.Min == "" || got >= c.Min) && (c.Max == "" || got <= c.Max)
		case AnyOf:
			ok = slices.Contains(c.Values, got)
		case AllOf:
			// One value meets all of them only if they are all it.
			ok = !slices.ContainsFunc(c.Values, func(v string) bool { return v != got })
		default:
			ok = got == c.Value
		}
		if !ok {
			return false
		}
	}
	return true
}
