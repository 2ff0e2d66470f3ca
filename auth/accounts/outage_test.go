package accounts

import (
	"errors"
	"testing"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/internal/faultmeta"
	"github.com/berthreg/berth/meta"
)

// TestStoreOutageIsNotBadCredentials: while the store cannot be read,
// checking credentials, a session, an account or a right fails with the
// store's meta.ErrUnavailable, never auth.ErrBadCredentials (which
// clients are told as 401, and the login limiter counts).
func TestStoreOutageIsNotBadCredentials(t *testing.T) {
	s, _ := openStore(t)
	t.Cleanup(func() { s.Close() })
	store := faultmeta.Wrap(s)
	m := newManager(t, store)
	ctx := t.Context()
	if err := m.SetUser(ctx, "jo", "jo-password", false); err != nil {
		t.Fatal(err)
	}
	jo, err := m.Authenticate(ctx, "jo", "jo-password")
	if err != nil {
		t.Fatal(err)
	}
	id, err := m.StartSession(ctx, jo, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	store.SetDown(true)
	checks := map[string]func() error{
		"Authenticate (cached)": func() error { _, err := m.Authenticate(ctx, "jo", "jo-password"); return err },
		"Authenticate (new)":    func() error { _, err := m.Authenticate(ctx, "jo", "other-password"); return err },
		"SessionPrincipal":      func() error { _, err := m.SessionPrincipal(ctx, "jo", SourceLocal, id); return err },
		"UserPrincipal":         func() error { _, err := m.UserPrincipal(ctx, "jo", SourceLocal); return err },
		"Principal":             func() error { _, err := m.Principal(ctx, "jo"); return err },
		"Allowed": func() error {
			_, err := m.Authorizer().Allowed(ctx, jo, auth.Resource{Type: auth.TypeRepository, Name: "library/app"}, []string{auth.ActionPull})
			return err
		},
	}
	for name, check := range checks {
		if err := check(); !errors.Is(err, meta.ErrUnavailable) || errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("%s while the store is down: %v, want meta.ErrUnavailable and not bad credentials", name, err)
		}
	}
	store.SetDown(false)
	if _, err := m.SessionPrincipal(ctx, "jo", SourceLocal, id); err != nil {
		t.Errorf("the session once the store is back: %v", err)
	}
}
