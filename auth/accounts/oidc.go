package accounts

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/meta"
)

// Sources of accounts (User.Source) other than "local".
const (
	// SourceOIDC accounts sign in through an OpenID Connect provider.
	SourceOIDC = "oidc"
	// SourceLDAP accounts are checked by an LDAP directory; they are
	// recorded at their first verification (RememberUser).
	SourceLDAP = "ldap"
)

// userPrincipal is the principal of user account u.
func userPrincipal(u User) auth.Principal {
	return auth.Principal{Name: u.Name, Kind: auth.User, Admin: u.Admin, Groups: slices.Clone(u.Groups), Source: u.Source}
}

// UserPrincipal returns the principal of the enabled user account name if
// it comes from source, or an error wrapping auth.ErrBadCredentials (the
// store's error as it is when it could not be read). A session's
// principal is SessionPrincipal's, which checks the session too.
func (m *Manager) UserPrincipal(ctx context.Context, name, source string) (auth.Principal, error) {
	var u User
	err := m.store.View(ctx, func(tx meta.Tx) error {
		var err error
		u, err = Users.In(tx).Get(name)
		return err
	})
	switch {
	case err != nil && !errors.Is(err, meta.ErrNotFound):
		return auth.Principal{}, err
	case err == nil && u.Disabled:
		err = errors.New("disabled")
	case err == nil && u.Source != source:
		err = fmt.Errorf("signed in by %s, kept by %s", source, u.Source)
	}
	if err != nil {
		return auth.Principal{}, fmt.Errorf("%s: %w (%v)", name, auth.ErrBadCredentials, err)
	}
	return userPrincipal(u), nil
}

// SignInOIDC maps a provider's identity to its account: the account with
// the same subject is brought up to date (email, full name, groups and,
// when id.Admin is set, the admin flag); a new subject gets an account
// named id.Username when onboard is set, and ErrForbidden otherwise. A
// username another account holds, in any spelling, is ErrExists; a disabled
// account is ErrForbidden.
func (m *Manager) SignInOIDC(ctx context.Context, id auth.Identity, onboard bool) (auth.Principal, error) {
	if id.Subject == "" {
		return auth.Principal{}, fmt.Errorf("%w: the identity has no subject", ErrInvalid)
	}
	var out User
	err := m.store.Update(ctx, func(tx meta.Tx) error {
		users, err := Users.In(tx).List("", 0)
		if err != nil {
			return err
		}
		now := m.now().UTC()
		i := slices.IndexFunc(users, func(u User) bool { return u.Source == SourceOIDC && u.Subject == id.Subject })
		if i >= 0 {
			out = users[i]
			if out.Disabled {
				return fmt.Errorf("%w: account %s is disabled", ErrForbidden, out.Name)
			}
		} else {
			if !onboard {
				return fmt.Errorf("%w: %s has no account here and onboarding is off", ErrForbidden, id.Username)
			}
			if err := validUserName(id.Username); err != nil {
				return fmt.Errorf("%w: %v", ErrInvalid, err)
			}
			// A name another account holds in any spelling is taken: names
			// differing only in case would be told apart by nobody (and a
			// directory treats them as one).
			if slices.ContainsFunc(users, func(u User) bool { return strings.EqualFold(u.Name, id.Username) }) {
				return fmt.Errorf("user %s: %w", id.Username, ErrExists)
			}
			out = User{Name: id.Username, Source: SourceOIDC, Subject: id.Subject, CreatedAt: now}
		}
		out.Email, out.FullName, out.Groups, out.UpdatedAt = id.Email, id.FullName, slices.Clone(id.Groups), now
		if id.Admin != nil {
			out.Admin = *id.Admin
		}
		if err := Users.In(tx).Put(out); err != nil {
			return err
		}
		return record(ctx, tx, meta.Event{Type: events.Login, Operator: out.Name, Resource: out.Name, Details: map[string]string{"via": "oidc"}})
	})
	if err != nil {
		return auth.Principal{}, err
	}
	return userPrincipal(out), nil
}

// SetCLISecret sets the CLI secret of OIDC account name, its password for
// registry clients, and returns it: secret, or a generated one when secret
// is "". It is stored hashed only.
func (m *Manager) SetCLISecret(ctx context.Context, name, secret string) (string, error) {
	if secret == "" {
		secret = newSecret()
	} else if len(secret) < 16 {
		return "", fmt.Errorf("%w: a CLI secret needs at least 16 characters", ErrInvalid)
	}
	h, err := m.hash(secret)
	if err != nil {
		return "", err
	}
	err = m.store.Update(ctx, func(tx meta.Tx) error {
		u, err := Users.In(tx).Get(name)
		if err != nil {
			return err
		}
		if u.Source != SourceOIDC {
			return fmt.Errorf("%w: %s is not an OIDC account (it has a password)", ErrInvalid, name)
		}
		u.CLISecretHash, u.UpdatedAt = h, m.now().UTC()
		return Users.In(tx).Put(u)
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}

// RememberUser records a user another authenticator vouched for (an LDAP
// directory) so that a session can name it: a new account of source
// "ldap" with p's groups and admin flag, or the same account brought up to
// date. Accounts kept here (local, OIDC) are left alone.
func (m *Manager) RememberUser(ctx context.Context, p auth.Principal) error {
	return m.store.Update(ctx, func(tx meta.Tx) error {
		u, err := Users.In(tx).Get(p.Name)
		switch {
		case err == nil && u.Source != SourceLDAP:
			return nil
		case errors.Is(err, meta.ErrNotFound):
			u = User{Name: p.Name, Source: SourceLDAP, CreatedAt: m.now().UTC()}
		case err != nil:
			return err
		}
		u.Groups, u.Admin, u.UpdatedAt = slices.Clone(p.Groups), p.Admin, m.now().UTC()
		return Users.In(tx).Put(u)
	})
}
