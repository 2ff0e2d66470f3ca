package auth

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Resource types and actions of the Docker token scope grammar as Berth uses
// it.
const (
	TypeRepository = "repository"
	TypeRegistry   = "registry"

	ActionPull   = "pull"
	ActionPush   = "push"
	ActionDelete = "delete"
	ActionAll    = "*"
)

// Access is one entry of a token's "access" claim, and one parsed scope.
type Access struct {
	// Type is the resource type ("repository", "registry").
	Type string `json:"type"`
	// Name is the resource name (a repository name, "catalog").
	Name string `json:"name"`
	// Actions are the actions asked for or granted.
	Actions []string `json:"actions"`
}

// Resource returns the resource a is about.
func (a Access) Resource() Resource { return Resource{Type: a.Type, Name: a.Name} }

// String renders a in the scope grammar.
func (a Access) String() string {
	return a.Type + ":" + a.Name + ":" + strings.Join(a.Actions, ",")
}

// maxScopeLen bounds one scope: repository names are at most 255 bytes in
// practice, plus type and actions.
const maxScopeLen = 1024

// ParseScope parses one scope, "type[(class)]:name:action[,action…]". The
// name may itself contain ":" (a host:port prefix), so the type ends at the
// first colon and the actions start after the last. The resource class (as
// in "repository(plugin)") is accepted and dropped. Actions are
// deduplicated in order; empty actions are an error.
func ParseScope(s string) (Access, error) {
	var a Access
	if len(s) > maxScopeLen {
		return a, fmt.Errorf("scope: longer than %d bytes", maxScopeLen)
	}
	first, last := strings.IndexByte(s, ':'), strings.LastIndexByte(s, ':')
	if first < 0 || first == last {
		return a, fmt.Errorf("scope %q: want type:name:actions", s)
	}
	typ, name, actions := s[:first], s[first+1:last], s[last+1:]
	if i := strings.IndexByte(typ, '('); i >= 0 {
		if !strings.HasSuffix(typ, ")") || i == 0 {
			return a, fmt.Errorf("scope %q: bad resource class", s)
		}
		typ = typ[:i]
	}
	if !validWord(typ) {
		return a, fmt.Errorf("scope %q: bad resource type", s)
	}
	if name == "" || strings.ContainsAny(name, " \t\r\n") {
		return a, fmt.Errorf("scope %q: bad resource name", s)
	}
	a.Type, a.Name = typ, name
	for _, act := range strings.Split(actions, ",") {
		if act != ActionAll && !validWord(act) {
			return Access{}, fmt.Errorf("scope %q: bad action %q", s, act)
		}
		if !slices.Contains(a.Actions, act) {
			a.Actions = append(a.Actions, act)
		}
	}
	return a, nil
}

// Limits of one token request's scopes: what an anonymous client can make
// the token service parse, authorize and sign is bounded by them.
const (
	// MaxScopes is the most distinct resources one request may name
	// (accesses to the same resource merge first). Clients ask for one or
	// two per operation; a cross-repository mount names two.
	MaxScopes = 50
	// MaxScopeBytes bounds the scope parameters of one request together.
	MaxScopeBytes = 64 << 10
	// maxActions bounds the distinct actions asked for on one resource
	// (Berth knows four).
	maxActions = 8
)

// ErrTooManyScopes is returned by ParseScopes for a request beyond
// MaxScopes distinct resources, MaxScopeBytes of parameters, or more than
// a handful of distinct actions on one resource.
var ErrTooManyScopes = errors.New("auth: too many scopes")

// ParseScopes parses the scope parameters of a token request: each value
// may hold several scopes separated by spaces. Accesses to the same
// resource are merged, in time linear in the number of scopes. A request
// beyond the limits above is refused with ErrTooManyScopes.
func ParseScopes(values []string) ([]Access, error) {
	total := 0
	for _, v := range values {
		total += len(v)
	}
	if total > MaxScopeBytes {
		return nil, fmt.Errorf("%w: %d bytes of scope parameters, at most %d", ErrTooManyScopes, total, MaxScopeBytes)
	}
	set := newScopeSet(MaxScopes, maxActions)
	for _, v := range values {
		for _, s := range strings.Fields(v) {
			a, err := ParseScope(s)
			if err != nil {
				return nil, err
			}
			if err := set.add(a); err != nil {
				return nil, err
			}
		}
	}
	return set.list, nil
}

// scopeSet merges accesses by resource: a map finds the entry of a
// resource, so each added scope costs its own actions, not the list.
type scopeSet struct {
	list       []Access
	index      map[Resource]int
	maxRes     int
	maxActions int
	// steps counts action comparisons, for the test that merging is linear.
	steps int
}

func newScopeSet(maxResources, maxActions int) *scopeSet {
	return &scopeSet{index: make(map[Resource]int), maxRes: maxResources, maxActions: maxActions}
}

// add joins a to the set: its actions to an entry for the same resource,
// or a new entry.
func (m *scopeSet) add(a Access) error {
	i, ok := m.index[a.Resource()]
	if !ok {
		if len(m.list) == m.maxRes {
			return fmt.Errorf("%w: more than %d resources in one request", ErrTooManyScopes, m.maxRes)
		}
		i = len(m.list)
		m.index[a.Resource()] = i
		m.list = append(m.list, Access{Type: a.Type, Name: a.Name})
	}
	e := &m.list[i]
	for _, act := range a.Actions {
		m.steps += len(e.Actions) + 1
		if slices.Contains(e.Actions, act) {
			continue
		}
		if len(e.Actions) == m.maxActions {
			return fmt.Errorf("%w: more than %d actions on %s:%s", ErrTooManyScopes, m.maxActions, a.Type, a.Name)
		}
		e.Actions = append(e.Actions, act)
	}
	return nil
}

// validWord reports a non-empty run of lowercase letters, digits, '-', '_'
// or '.'.
func validWord(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
