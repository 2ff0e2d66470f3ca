package auth

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestParseScope(t *testing.T) {
	good := map[string]Access{
		"repository:library/alpine:pull":            {"repository", "library/alpine", []string{"pull"}},
		"repository:a/b:pull,push":                  {"repository", "a/b", []string{"pull", "push"}},
		"repository:a/b:push,pull,push":             {"repository", "a/b", []string{"push", "pull"}},
		"repository(plugin):a/b:pull":               {"repository", "a/b", []string{"pull"}},
		"repository:127.0.0.1:5000/a/b:pull":        {"repository", "127.0.0.1:5000/a/b", []string{"pull"}},
		"registry:catalog:*":                        {"registry", "catalog", []string{"*"}},
		"repository:p/r:delete":                     {"repository", "p/r", []string{"delete"}},
		"repository:p/r:" + strings.Repeat("a", 64): {"repository", "p/r", []string{strings.Repeat("a", 64)}},
	}
	for s, want := range good {
		got, err := ParseScope(s)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ParseScope(%q) = %+v, %v; want %+v", s, got, err, want)
		}
	}
	for _, s := range []string{
		"", "repository", "repository:a/b", "repository::pull", "repository:a/b:", "repository:a/b:pull,",
		"Repository:a/b:pull", "repository:a b:pull", "(x):a:pull", "repository(x:a:pull",
		"repository:a/b:PULL", "repository:a/b:" + strings.Repeat("a", 65), strings.Repeat("x", 2000),
	} {
		if a, err := ParseScope(s); err == nil {
			t.Errorf("ParseScope(%q) = %+v, want an error", s, a)
		}
	}
}

func TestParseScopesMerges(t *testing.T) {
	got, err := ParseScopes([]string{"repository:a/b:pull repository:c/d:push", "repository:a/b:push registry:catalog:*"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Access{
		{"repository", "a/b", []string{"pull", "push"}},
		{"repository", "c/d", []string{"push"}},
		{"registry", "catalog", []string{"*"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ParseScopes = %+v, want %+v", got, want)
	}
	if _, err := ParseScopes([]string{"repository:a/b:pull bad"}); err == nil {
		t.Fatal("a bad scope among good ones was accepted")
	}
}

// FuzzParseScope feeds arbitrary scope strings: no panic, and an accepted
// scope renders back to a scope that parses to the same access.
func FuzzParseScope(f *testing.F) {
	for _, s := range []string{"repository:a/b:pull,push", "registry:catalog:*", "repository(plugin):h:1/x:pull", "a::b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseScope(s)
		if err != nil {
			return
		}
		b, err := ParseScope(a.String())
		if err != nil || !reflect.DeepEqual(a, b) {
			t.Fatalf("%q parsed to %+v, which renders as %q and parses to %+v, %v", s, a, a.String(), b, err)
		}
	})
}

// TestParseScopesLimits: more distinct resources than MaxScopes, more than
// MaxScopeBytes of parameters or too many actions for one resource are
// refused with ErrTooManyScopes.
func TestParseScopesLimits(t *testing.T) {
	var distinct []string
	for i := range MaxScopes + 1 {
		distinct = append(distinct, "repository:p/r"+strings.Repeat("x", i)+":pull")
	}
	if _, err := ParseScopes(distinct[:MaxScopes]); err != nil {
		t.Fatalf("%d scopes: %v", MaxScopes, err)
	}
	if _, err := ParseScopes(distinct); !errors.Is(err, ErrTooManyScopes) {
		t.Fatalf("%d scopes: %v, want ErrTooManyScopes", MaxScopes+1, err)
	}
	big := strings.Repeat("repository:a/b:pull ", MaxScopeBytes/20+1)
	if _, err := ParseScopes([]string{big}); !errors.Is(err, ErrTooManyScopes) {
		t.Fatalf("%d bytes of scopes: %v, want ErrTooManyScopes", len(big), err)
	}
	var acts []string
	for i := range maxActions + 1 {
		acts = append(acts, fmt.Sprintf("repository:a/b:a%d", i))
	}
	if _, err := ParseScopes(acts); !errors.Is(err, ErrTooManyScopes) {
		t.Fatalf("%d actions on one resource: %v, want ErrTooManyScopes", len(acts), err)
	}
}

// TestParseScopesMergeIsLinear: merging costs a bounded number of steps
// per scope, whether the scopes repeat one resource or name distinct ones
// (counted with the limits lifted).
func TestParseScopesMergeIsLinear(t *testing.T) {
	const n = 20000
	dup := make([]string, n)
	distinct := make([]string, n)
	for i := range n {
		dup[i] = "repository:a/b:pull,push"
		distinct[i] = fmt.Sprintf("repository:p/r%d:pull,push", i)
	}
	for name, values := range map[string][]string{"duplicates": dup, "distinct": distinct} {
		m := newScopeSet(n, 1<<30)
		for _, v := range values {
			a, err := ParseScope(v)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.add(a); err != nil {
				t.Fatal(err)
			}
		}
		if m.steps > 8*n { // at most (actions held + 1) per asked action
			t.Fatalf("%s: %d merge steps for %d scopes", name, m.steps, n)
		}
	}
}

func BenchmarkParseScopesDuplicates(b *testing.B) {
	v := []string{strings.Repeat("repository:a/b:pull,push ", MaxScopeBytes/26)}
	for b.Loop() {
		if _, err := ParseScopes(v); err != nil {
			b.Fatal(err)
		}
	}
}
