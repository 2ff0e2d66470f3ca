package accounts

import (
	"errors"
	"slices"
	"testing"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/meta"
)

func TestSignInOIDC(t *testing.T) {
	m, s, _ := clockedManager(t)
	ctx := t.Context()
	yes, no := true, false
	id := auth.Identity{Subject: "sub-1", Username: "dana@example.org", Email: "dana@example.org", FullName: "Dana", Groups: []string{"devs"}, Admin: &yes}

	if _, err := m.SignInOIDC(ctx, id, false); !errors.Is(err, ErrForbidden) {
		t.Errorf("a new subject without onboarding: %v", err)
	}
	p, err := m.SignInOIDC(ctx, id, true)
	if err != nil || p.Name != "dana@example.org" || !p.Admin || !slices.Equal(p.Groups, []string{"devs"}) || p.Kind != auth.User {
		t.Fatalf("onboarding: %+v, %v", p, err)
	}
	// The same subject under a new username keeps its account; groups and
	// admin follow the provider.
	id.Username, id.Groups, id.Admin = "renamed", []string{"ops"}, &no
	if p, err := m.SignInOIDC(ctx, id, false); err != nil || p.Name != "dana@example.org" || p.Admin || !slices.Equal(p.Groups, []string{"ops"}) {
		t.Errorf("a second sign-in: %+v, %v", p, err)
	}
	id.Admin = nil
	if err := m.SetUser(ctx, "dana@example.org", "", true); err != nil {
		t.Fatal(err)
	}
	if p, _ := m.SignInOIDC(ctx, id, false); !p.Admin {
		t.Error("without an admin group, the admin flag set here was dropped")
	}
	if err := m.SetUser(ctx, "dana@example.org", "a-password-here", false); !errors.Is(err, ErrInvalid) {
		t.Errorf("a password for an OIDC account: %v", err)
	}
	if _, err := m.SignInOIDC(ctx, auth.Identity{Subject: "sub-9", Username: "Gail"}, true); err != nil {
		t.Fatal(err)
	}
	if err := m.SetUser(ctx, "gail", "gail-password", false); !errors.Is(err, ErrExists) {
		t.Errorf("a local account named like OIDC Gail in lower case: %v", err)
	}

	// Refusals.
	if err := m.SetUser(ctx, "erin", "erin-password", false); err != nil {
		t.Fatal(err)
	}
	for what, c := range map[string]struct {
		id   auth.Identity
		want error
	}{
		"a taken name":             {auth.Identity{Subject: "sub-2", Username: "erin"}, ErrExists},
		"a taken name in capitals": {auth.Identity{Subject: "sub-8", Username: "Erin"}, ErrExists},
		"no subject":               {auth.Identity{Username: "frank"}, ErrInvalid},
		"a bad name":               {auth.Identity{Subject: "sub-3", Username: "frank smith"}, ErrInvalid},
		"a robot's name":           {auth.Identity{Subject: "sub-4", Username: "robot$x"}, ErrInvalid},
		"an empty name":            {auth.Identity{Subject: "sub-5"}, ErrInvalid},
		"a leading dot":            {auth.Identity{Subject: "sub-6", Username: ".x"}, ErrInvalid},
		"a 256-byte name":          {auth.Identity{Subject: "sub-7", Username: string(make([]byte, 256))}, ErrInvalid},
	} {
		if _, err := m.SignInOIDC(ctx, c.id, true); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", what, err, c.want)
		}
	}
	if err := s.Update(ctx, func(tx meta.Tx) error {
		u, err := Users.In(tx).Get("dana@example.org")
		if err != nil {
			return err
		}
		u.Disabled = true
		return Users.In(tx).Put(u)
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.SignInOIDC(ctx, id, true); !errors.Is(err, ErrForbidden) {
		t.Errorf("a disabled account: %v", err)
	}
	if _, err := m.UserPrincipal(ctx, "dana@example.org", SourceOIDC); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("a disabled account's session: %v", err)
	}
}

func TestCLISecret(t *testing.T) {
	m, _, _ := clockedManager(t)
	ctx := t.Context()
	if _, err := m.SignInOIDC(ctx, auth.Identity{Subject: "s", Username: "gus", Groups: []string{"devs"}}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Authenticate(ctx, "gus", ""); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("an OIDC account before its CLI secret: %v", err)
	}
	first, err := m.SetCLISecret(ctx, "gus", "")
	if err != nil || len(first) < 40 {
		t.Fatalf("a generated secret: %q, %v", first, err)
	}
	p, err := m.Authenticate(ctx, "gus", first)
	if err != nil || p.Name != "gus" || !slices.Equal(p.Groups, []string{"devs"}) {
		t.Errorf("the CLI secret logs in with the account's groups: %+v, %v", p, err)
	}
	chosen := "a chosen secret of enough length"
	if got, err := m.SetCLISecret(ctx, "gus", chosen); err != nil || got != chosen {
		t.Fatalf("a chosen secret: %q, %v", got, err)
	}
	if _, err := m.Authenticate(ctx, "gus", first); err == nil {
		t.Error("the replaced secret still works")
	}
	if _, err := m.Authenticate(ctx, "gus", chosen); err != nil {
		t.Errorf("the chosen secret: %v", err)
	}
	if _, err := m.SetCLISecret(ctx, "gus", "short"); !errors.Is(err, ErrInvalid) {
		t.Errorf("a short secret: %v", err)
	}
	if err := m.SetUser(ctx, "hal", "hal-password", false); err != nil {
		t.Fatal(err)
	}
	if _, err := m.SetCLISecret(ctx, "hal", ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("a CLI secret for a local account: %v", err)
	}
	if _, err := m.SetCLISecret(ctx, "nobody", ""); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("a CLI secret for no account: %v", err)
	}
}

func TestRememberUser(t *testing.T) {
	m, _, _ := clockedManager(t)
	ctx := t.Context()
	ldapUser := auth.Principal{Name: "ivy", Kind: auth.User, Groups: []string{"devs"}}
	if err := m.RememberUser(ctx, ldapUser); err != nil {
		t.Fatal(err)
	}
	if p, err := m.UserPrincipal(ctx, "ivy", SourceLDAP); err != nil || !slices.Equal(p.Groups, []string{"devs"}) {
		t.Errorf("a remembered directory user: %+v, %v", p, err)
	}
	ldapUser.Groups, ldapUser.Admin = nil, true
	if err := m.RememberUser(ctx, ldapUser); err != nil {
		t.Fatal(err)
	}
	if p, _ := m.UserPrincipal(ctx, "ivy", SourceLDAP); len(p.Groups) != 0 || !p.Admin {
		t.Errorf("brought up to date: %+v", p)
	}
	if _, err := m.Authenticate(ctx, "ivy", "anything"); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("a remembered directory user has no local password: %v", err)
	}
	if err := m.SetUser(ctx, "jo", "jo-password", false); err != nil {
		t.Fatal(err)
	}
	if err := m.RememberUser(ctx, auth.Principal{Name: "jo", Kind: auth.User, Admin: true}); err != nil {
		t.Fatal(err)
	}
	if p, _ := m.UserPrincipal(ctx, "jo", SourceLocal); p.Admin {
		t.Error("a local account was changed by RememberUser")
	}
}
