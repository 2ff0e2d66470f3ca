package accounts

import (
	"errors"
	"testing"
	"time"

	"github.com/berthreg/berth/auth"
)

// TestSessionsRevoked: a session opens only while its account lists it:
// not after it ends, a password change, disabling, deleting (nor on an
// account made again with the name), its expiry, or once MaxSessions
// newer ones started; not with another id or another source.
func TestSessionsRevoked(t *testing.T) {
	m, _, now := clockedManager(t)
	ctx := t.Context()
	if err := m.SetUser(ctx, "jo", "jo-password", false); err != nil {
		t.Fatal(err)
	}
	jo, err := m.Authenticate(ctx, "jo", "jo-password")
	if err != nil {
		t.Fatal(err)
	}
	start := func() string {
		t.Helper()
		id, err := m.StartSession(ctx, jo, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	opens := func(what, id string, want bool) {
		t.Helper()
		_, err := m.SessionPrincipal(ctx, "jo", SourceLocal, id)
		if want && err != nil {
			t.Errorf("%s: %v", what, err)
		}
		if !want && !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("%s: %v, want bad credentials", what, err)
		}
	}
	a, b := start(), start()
	opens("a live session", a, true)
	if _, err := m.SessionPrincipal(ctx, "jo", SourceLDAP, a); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("a session under another source: %v", err)
	}
	opens("an unknown id", "not-a-session", false)
	opens("no id", "", false)
	if err := m.EndSession(ctx, "jo", a); err != nil {
		t.Fatal(err)
	}
	opens("an ended session", a, false)
	opens("another session after one ended", b, true)

	if err := m.SetUser(ctx, "jo", "jo-new-password", false); err != nil {
		t.Fatal(err)
	}
	opens("a session after a password change", b, false)
	c := start()
	if err := m.SetUser(ctx, "jo", "", true); err != nil { // the admin flag only
		t.Fatal(err)
	}
	opens("a session after a change of the admin flag", c, true)
	if err := m.SetUserDisabled(ctx, "jo", true); err != nil {
		t.Fatal(err)
	}
	opens("a session of a disabled account", c, false)
	if _, err := m.StartSession(ctx, jo, time.Hour); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("a new session of a disabled account: %v", err)
	}
	if err := m.SetUserDisabled(ctx, "jo", false); err != nil {
		t.Fatal(err)
	}
	opens("a session from before disabling, once enabled again", c, false)

	d := start()
	if err := m.DeleteUser(ctx, "jo"); err != nil {
		t.Fatal(err)
	}
	if err := m.SetUser(ctx, "jo", "jo-password", false); err != nil {
		t.Fatal(err)
	}
	opens("a deleted account's session, on the account made again", d, false)

	e := start()
	*now = now.Add(time.Hour)
	opens("an expired session", e, false)

	first := start()
	var last string
	for range MaxSessions {
		last = start()
	}
	opens("the oldest session beyond MaxSessions", first, false)
	opens("the newest session", last, true)
}
