package auth

import (
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
