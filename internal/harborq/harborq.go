// Package harborq reads Harbor's q query parameter, the filter of its list
// endpoints: comma-separated conditions key=value (exact) or key=~text
// (substring), all of which an item must meet.
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
		out.conds = append(out.conds, cond{k, v})
	}
	return out, nil
}

// Empty reports whether q keeps everything.
func (q Query) Empty() bool { return len(q.conds) == 0 }

// Match reports whether the item whose values get reads meets every
// condition of q.
func (q Query) Match(get func(key string) string) bool {
	for _, c := range q.conds {
		got := get(c.key)
		if sub, ok := strings.CutPrefix(c.val, "~"); ok {
			if !strings.Contains(got, sub) {
				return false
			}
		} else if got != c.val {
			return false
		}
	}
	return true
}
