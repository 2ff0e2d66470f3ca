package guard

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/rbac"
	"github.com/berthreg/berth/registry"
)

// TestRecheckTokens: by default a bearer token keeps the grants it was
// issued with until it expires; with Recheck, a request with it also needs
// the rights its subject holds now: a removed member or a deleted account
// loses access at once, while subjects that are no account keep what
// their token grants.
func TestRecheckTokens(t *testing.T) {
	iss, ver := newTokens(t)
	az, err := rbac.New(projects{"team": false})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"dev", "gone"} {
		if err := az.AddMember("team", rbac.Subject(auth.User, u), rbac.Developer); err != nil {
			t.Fatal(err)
		}
	}
	tokenFor := func(subject string) string {
		tok, err := iss.Issue(subject, "berth-registry", []auth.Access{{Type: auth.TypeRepository, Name: "team/app", Actions: []string{auth.ActionPull}}})
		if err != nil {
			t.Fatal(err)
		}
		return tok.Token
	}
	deleted := map[string]bool{}
	recheck := func(_ context.Context, subject string) (auth.Principal, bool, error) {
		if subject == "scanner:trivy" {
			return auth.Principal{}, false, nil
		}
		if deleted[subject] {
			return auth.Principal{}, true, auth.ErrBadCredentials
		}
		return auth.Principal{Name: subject, Kind: auth.User}, true, nil
	}
	pull := func(g *Guard, tok string) error {
		r := httptest.NewRequest("GET", "/v2/team/app/manifests/latest", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		return g.Authorize(t.Context(), &registry.Event{Action: registry.ActionPullManifest, Repository: "team/app", Request: r})
	}
	plain, err := New("/service/token", "berth-registry", ver, az)
	if err != nil {
		t.Fatal(err)
	}
	checking, err := New("/service/token", "berth-registry", ver, az, WithRecheck(recheck))
	if err != nil {
		t.Fatal(err)
	}
	dev, gone, scanner := tokenFor("dev"), tokenFor("gone"), tokenFor("scanner:trivy")
	for _, g := range []*Guard{plain, checking} {
		for _, tok := range []string{dev, gone, scanner} {
			if err := pull(g, tok); err != nil {
				t.Fatalf("before any change: %v", err)
			}
		}
	}
	if err := az.RemoveMember("team", rbac.Subject(auth.User, "dev")); err != nil {
		t.Fatal(err)
	}
	deleted["gone"] = true
	for _, tok := range []string{dev, gone} {
		if err := pull(plain, tok); err != nil {
			t.Errorf("without Recheck a token holds until it expires: %v", err)
		}
		var re *registry.Error
		if err := pull(checking, tok); !errors.As(err, &re) || (re.Status != 401 && re.Status != 403) {
			t.Errorf("with Recheck, a token whose subject lost its rights: %v, want 401 or 403", err)
		}
	}
	if err := pull(checking, scanner); err != nil {
		t.Errorf("with Recheck, a scanner's token: %v", err)
	}
}
