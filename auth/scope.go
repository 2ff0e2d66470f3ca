package auth

import (
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

// ParseScopes parses the scope parameters of a token request: each value
// may hold several scopes separated by spaces. Accesses to the same
// resource are merged.
func ParseScopes(values []string) ([]Access, error) {
	var out []Access
	for _, v := range values {
		for _, s := range strings.Fields(v) {
			a, err := ParseScope(s)
			if err != nil {
				return nil, err
			}
			out = merge(out, a)
		}
	}
	return out, nil
}

// merge adds a to list, joining its actions to an entry for the same
// resource.
func merge(list []Access, a Access) []Access {
	for i := range list {
		if list[i].Type == a.Type && list[i].Name == a.Name {
			for _, act := range a.Actions {
				if !slices.Contains(list[i].Actions, act) {
					list[i].Actions = append(list[i].Actions, act)
				}
			}
			return list
		}
	}
	return append(list, a)
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
