package auth

import (
	"context"
	"errors"
	"testing"
)

func TestFirstOf(t *testing.T) {
	only := func(name string, err error) Authenticator {
		return AuthenticatorFunc(func(_ context.Context, n, _ string) (Principal, error) {
			if n == name {
				return Principal{Name: n, Kind: User}, nil
			}
			return Principal{}, err
		})
	}
	down := errors.New("directory down")
	a := FirstOf(only("local", ErrBadCredentials), only("ldap", ErrBadCredentials))
	if p, err := a.Authenticate(t.Context(), "ldap", "x"); err != nil || p.Name != "ldap" {
		t.Errorf("second authenticator: %+v, %v", p, err)
	}
	if _, err := a.Authenticate(t.Context(), "nobody", "x"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("nobody: %v", err)
	}
	b := FirstOf(only("local", down), only("ldap", ErrBadCredentials))
	if _, err := b.Authenticate(t.Context(), "ldap", "x"); !errors.Is(err, down) {
		t.Errorf("an outage must stop the search, got %v", err)
	}
}
