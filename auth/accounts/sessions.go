package accounts

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/meta"
)

// MaxSessions is how many live browser sessions one account keeps; when a
// new one starts beyond it, the oldest ends.
const MaxSessions = 16

// sessionHash is what the record keeps of a session id.
func sessionHash(id string) string {
	h := sha256.Sum256([]byte(id))
	return hex.EncodeToString(h[:])
}

// live drops the sessions that ended by now.
func live(list []UserSession, now time.Time) []UserSession {
	return slices.DeleteFunc(list, func(s UserSession) bool { return !now.Before(s.ExpiresAt) })
}

// StartSession records a new browser session of p, a user principal this
// Manager authenticated (or SignInOIDC returned), lasting lifetime, and
// returns its id for the session cookie. The account must still exist,
// come from p.Source and be enabled. The oldest sessions beyond
// MaxSessions end.
func (m *Manager) StartSession(ctx context.Context, p auth.Principal, lifetime time.Duration) (string, error) {
	if p.Kind != auth.User {
		return "", fmt.Errorf("%w: %s is not a user account", ErrInvalid, p.Name)
	}
	if lifetime <= 0 {
		return "", fmt.Errorf("%w: session lifetime %v", ErrInvalid, lifetime)
	}
	id := newSecret()
	err := m.store.Update(ctx, func(tx meta.Tx) error {
		u, err := Users.In(tx).Get(p.Name)
		if err != nil {
			return err
		}
		if u.Source != p.Source || u.Disabled {
			return fmt.Errorf("%s: %w (the account is disabled or kept by another source)", p.Name, auth.ErrBadCredentials)
		}
		now := m.now()
		u.Sessions = append(live(u.Sessions, now), UserSession{IDHash: sessionHash(id), ExpiresAt: now.Add(lifetime).UTC()})
		if n := len(u.Sessions); n > MaxSessions {
			u.Sessions = slices.Delete(u.Sessions, 0, n-MaxSessions)
		}
		return Users.In(tx).Put(u)
	})
	if err != nil {
		return "", err
	}
	return id, nil
}

// SessionPrincipal returns the principal of the browser session id of
// account name, signed in by source: the account must exist, still come
// from source, be enabled and list the session as live. Anything else is
// an error wrapping auth.ErrBadCredentials, but for a store that could
// not be read, whose error is returned as it is (the session was not
// checked: meta.ErrUnavailable is a 503, not a sign-out).
func (m *Manager) SessionPrincipal(ctx context.Context, name, source, id string) (auth.Principal, error) {
	var u User
	err := m.store.View(ctx, func(tx meta.Tx) error {
		var err error
		u, err = Users.In(tx).Get(name)
		return err
	})
	switch {
	case err != nil && !errors.Is(err, meta.ErrNotFound):
		return auth.Principal{}, err
	case err != nil:
	case u.Disabled:
		err = errors.New("disabled")
	case u.Source != source:
		err = fmt.Errorf("signed in by %s, kept by %s", source, u.Source)
	case !hasSession(u.Sessions, id, m.now()):
		err = errors.New("no such session")
	}
	if err != nil {
		return auth.Principal{}, fmt.Errorf("%s: %w (%v)", name, auth.ErrBadCredentials, err)
	}
	return userPrincipal(u), nil
}

// hasSession reports whether list holds session id, live at now.
func hasSession(list []UserSession, id string, now time.Time) bool {
	if id == "" {
		return false
	}
	want := []byte(sessionHash(id))
	for _, s := range list {
		if subtle.ConstantTimeCompare([]byte(s.IDHash), want) == 1 && now.Before(s.ExpiresAt) {
			return true
		}
	}
	return false
}

// EndSession ends browser session id of account name (signing out); an
// unknown account or session is no error.
func (m *Manager) EndSession(ctx context.Context, name, id string) error {
	err := m.store.Update(ctx, func(tx meta.Tx) error {
		u, err := Users.In(tx).Get(name)
		if err != nil {
			return err
		}
		h, n := sessionHash(id), len(u.Sessions)
		u.Sessions = slices.DeleteFunc(u.Sessions, func(s UserSession) bool { return s.IDHash == h })
		if len(u.Sessions) == n {
			return nil
		}
		return Users.In(tx).Put(u)
	})
	if errors.Is(err, meta.ErrNotFound) {
		return nil
	}
	return err
}
