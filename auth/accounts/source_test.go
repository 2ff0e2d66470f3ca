package accounts

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/berthreg/berth/auth"
)

// fakeDirectory is a directory (an LDAP server, say) that knows every name,
// without case, with the password "directory-password", and makes the
// ones named in admins administrators; it counts its calls.
type fakeDirectory struct {
	calls  atomic.Int64
	admins []string
}

func (d *fakeDirectory) Authenticate(_ context.Context, name, secret string) (auth.Principal, error) {
	d.calls.Add(1)
	if secret != "directory-password" {
		return auth.Principal{}, auth.ErrBadCredentials
	}
	p := auth.Principal{Name: name, Kind: auth.User, Groups: []string{"devs"}}
	for _, a := range d.admins {
		p.Admin = p.Admin || strings.EqualFold(a, name)
	}
	return p, nil
}

// TestAccountsHaveOneSource: with a directory behind the Manager, a local
// account (the admin included) and an OIDC account are checked only
// here, in every spelling of their names, and never by the directory;
// names without an account, and directory accounts, go to the directory,
// under their lower-case name.
func TestAccountsHaveOneSource(t *testing.T) {
	s, _ := openStore(t)
	defer s.Close()
	dir := &fakeDirectory{admins: []string{"admin", "alice"}}
	m, err := New(t.Context(), s, WithHashCost(bcrypt.MinCost), WithDirectory(dir))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := m.SetUser(ctx, "admin", "admin-local-password", true); err != nil {
		t.Fatal(err)
	}
	if err := m.SetUser(ctx, "alice", "alice-local-password", true); err != nil {
		t.Fatal(err)
	}
	if _, err := m.SignInOIDC(ctx, auth.Identity{Subject: "sub-dora", Username: "Dora"}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := m.SetCLISecret(ctx, "Dora", "dora-cli-secret-0123"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"admin", "Admin", "ADMIN", "alice", "Alice", "aLiCe", "Dora", "dora", "DORA"} {
		if p, err := m.Authenticate(ctx, name, "directory-password"); !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("%s with the directory's password: %+v, %v; want bad credentials", name, p, err)
		}
	}
	if n := dir.calls.Load(); n != 0 {
		t.Errorf("the directory was asked %d times about names of local and OIDC accounts", n)
	}
	for name, secret := range map[string]string{"admin": "admin-local-password", "alice": "alice-local-password", "Dora": "dora-cli-secret-0123"} {
		p, err := m.Authenticate(ctx, name, secret)
		if err != nil || p.Name != name {
			t.Errorf("%s with its own secret: %+v, %v", name, p, err)
		}
	}
	if p, _ := m.Authenticate(ctx, "alice", "alice-local-password"); p.Source != "local" {
		t.Errorf("local alice's principal has source %q", p.Source)
	}
	for _, name := range []string{"bob", "Bob", "BOB"} {
		p, err := m.Authenticate(ctx, name, "directory-password")
		if err != nil || p.Name != "bob" || p.Source != SourceLDAP || p.Kind != auth.User {
			t.Errorf("directory user %s: %+v, %v; want bob from ldap", name, p, err)
		}
	}
	if _, err := m.Authenticate(ctx, "bob", "wrong"); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("directory bob with a wrong password: %v", err)
	}
	// Once recorded, a directory account is still the directory's.
	p, _ := m.Authenticate(ctx, "bob", "directory-password")
	if err := m.RememberUser(ctx, p); err != nil {
		t.Fatal(err)
	}
	if p, err := m.Authenticate(ctx, "BOB", "directory-password"); err != nil || p.Name != "bob" {
		t.Errorf("recorded directory user BOB: %+v, %v", p, err)
	}
	// A local account cannot be made over a directory account.
	if err := m.SetUser(ctx, "bob", "bob-local-password", true); !errors.Is(err, ErrInvalid) {
		t.Errorf("a local password for directory bob: %v", err)
	}
}

// TestSessionSource: a session names the source that signed it in; once
// the account is kept by another source, the session opens nothing.
func TestSessionSource(t *testing.T) {
	m, _, _ := clockedManager(t)
	ctx := t.Context()
	if err := m.RememberUser(ctx, auth.Principal{Name: "ivy", Kind: auth.User, Source: SourceLDAP}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.UserPrincipal(ctx, "ivy", SourceLDAP); err != nil {
		t.Fatalf("ivy signed in by the directory: %v", err)
	}
	if err := m.SetUser(ctx, "jo", "jo-password", true); err != nil {
		t.Fatal(err)
	}
	for _, source := range []string{SourceLDAP, SourceOIDC, ""} {
		if p, err := m.UserPrincipal(ctx, "jo", source); !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("local jo's session signed in by %q: %+v, %v", source, p, err)
		}
	}
	if p, err := m.UserPrincipal(ctx, "jo", SourceLocal); err != nil || !p.Admin || p.Source != SourceLocal {
		t.Errorf("local jo's own session: %+v, %v", p, err)
	}
}

// TestPrincipalNow: Principal answers the account as it is now, for
// re-checking tokens: directory users recorded at their first
// verification, nobody once deleted or disabled.
func TestPrincipalNow(t *testing.T) {
	s, _ := openStore(t)
	defer s.Close()
	m, err := New(t.Context(), s, WithHashCost(bcrypt.MinCost), WithDirectory(&fakeDirectory{}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := m.Authenticate(ctx, "Bob", "directory-password"); err != nil {
		t.Fatal(err)
	}
	if p, err := m.Principal(ctx, "bob"); err != nil || p.Source != SourceLDAP || len(p.Groups) != 1 {
		t.Errorf("a verified directory user: %+v, %v", p, err)
	}
	if err := m.SetUser(ctx, "jo", "jo-password", true); err != nil {
		t.Fatal(err)
	}
	if p, err := m.Principal(ctx, "jo"); err != nil || !p.Admin {
		t.Errorf("jo: %+v, %v", p, err)
	}
	if err := m.SetUserDisabled(ctx, "jo", true); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Principal(ctx, "jo"); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("disabled jo: %v", err)
	}
	for _, name := range []string{"nobody", "robot$nobody"} {
		if _, err := m.Principal(ctx, name); !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
