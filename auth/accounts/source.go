package accounts

import (
	"context"
	"fmt"
	"strings"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/meta"
)

// SourceLocal accounts have a password kept here.
const SourceLocal = "local"

// WithDirectory puts an external directory (an LDAP server) behind the
// Manager's Authenticate. An account has one source, and only that source
// may vouch for it: local and OIDC accounts are checked here and never
// passed to d; d checks the names of directory accounts and names that
// have no account here. A directory never signs in a name that an account
// of another source holds in any spelling: directories compare names
// without case, so d is asked about, and its principals named by, the
// lower-case name.
func WithDirectory(d auth.Authenticator) Option {
	return func(m *Manager) { m.dir = d }
}

// nameTaken reports whether an account holds name in another spelling
// (the same letters in other cases).
func nameTaken(tx meta.Tx, name string) (bool, error) {
	users, err := Users.In(tx).List("", 0)
	if err != nil {
		return false, err
	}
	for _, u := range users {
		if strings.EqualFold(u.Name, name) {
			return true, nil
		}
	}
	return false, nil
}

// directoryMayCheck reports whether the directory may vouch for name: no
// account of another source holds it in any spelling, and the directory
// account it names, if recorded, is not disabled.
func directoryMayCheck(tx meta.Tx, name string) (bool, error) {
	canonical := strings.ToLower(name)
	users, err := Users.In(tx).List("", 0)
	if err != nil {
		return false, err
	}
	for _, u := range users {
		if !strings.EqualFold(u.Name, name) {
			continue
		}
		if u.Source != SourceLDAP || (u.Name == canonical && u.Disabled) {
			return false, nil
		}
	}
	return true, nil
}

// fromDirectory asks the directory about name (lower-cased) and returns
// the principal it vouches for, named by the lower-case name, of source
// "ldap", recording the account (RememberUser).
func (m *Manager) fromDirectory(ctx context.Context, name, secret string) (auth.Principal, error) {
	canonical := strings.ToLower(name)
	p, err := m.dir.Authenticate(ctx, canonical, secret)
	if err != nil {
		return auth.Principal{}, err
	}
	if p.Kind != auth.User {
		return auth.Principal{}, fmt.Errorf("%s: the directory vouched for a %s: %w", name, p.Kind, auth.ErrBadCredentials)
	}
	p.Name, p.Source = canonical, SourceLDAP
	if err := m.RememberUser(ctx, p); err != nil {
		return auth.Principal{}, err
	}
	return p, nil
}
