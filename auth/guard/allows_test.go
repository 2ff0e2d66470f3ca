package guard

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/rbac"
	"github.com/berthreg/berth/meta/bolt"
	"github.com/berthreg/berth/registry"
	"github.com/berthreg/berth/storage/memory"
)

// Event.Allows answers what the request's credentials allow beyond the
// request: from a basic login's account, and for a bearer token from its
// scope, then from its subject's account when WithPrincipals finds it.
func TestEventAllows(t *testing.T) {
	iss, ver := newTokens(t)
	az, err := rbac.New(projects{"team": false})
	if err != nil {
		t.Fatal(err)
	}
	if err := az.AddMember("team", rbac.Subject(auth.User, "dev"), rbac.Developer); err != nil {
		t.Fatal(err)
	}
	if err := az.AddMember("team", rbac.Subject(auth.User, "guest"), rbac.Guest); err != nil {
		t.Fatal(err)
	}
	users := accounts{"dev": "dev-pw", "guest": "guest-pw"}
	for _, withPrincipals := range []bool{false, true} {
		var opts []Option
		opts = append(opts, WithAuthenticator(users), WithLimiter(testLimiter(t)))
		if withPrincipals {
			opts = append(opts, WithPrincipals(func(_ context.Context, subject string) (auth.Principal, bool, error) {
				return auth.Principal{Name: subject, Kind: auth.User}, true, nil
			}))
		}
		g, err := New("/service/token", "berth-registry", ver, az, opts...)
		if err != nil {
			t.Fatal(err)
		}
		var canPush bool
		store, err := bolt.Open(filepath.Join(t.TempDir(), "meta.db"), bolt.NoSync())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		h, err := registry.New(memory.New(), store, registry.WithHooks(registry.Chain(g.Hooks(), registry.Hooks{
			Authorize: func(_ context.Context, ev *registry.Event) error {
				canPush = ev.Allows != nil && ev.Allows(auth.ActionPush)
				return nil
			}})))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			user   string
			bearer bool
			want   bool
		}{
			{"dev", false, true},
			{"guest", false, false},
			{"dev", true, withPrincipals}, // a pull token; the account may push
			{"guest", true, false},
		} {
			r := httptest.NewRequest(http.MethodGet, "/v2/team/app/tags/list", nil)
			if c.bearer {
				tok, err := iss.Issue(c.user, "berth-registry", []auth.Access{{Type: auth.TypeRepository, Name: "team/app", Actions: []string{auth.ActionPull}}})
				if err != nil {
					t.Fatal(err)
				}
				r.Header.Set("Authorization", "Bearer "+tok.Token)
			} else {
				r.SetBasicAuth(c.user, c.user+"-pw")
			}
			canPush = false
			h.ServeHTTP(httptest.NewRecorder(), r)
			if canPush != c.want {
				t.Errorf("principals %v, %s, bearer %v: Allows(push) = %v, want %v", withPrincipals, c.user, c.bearer, canPush, c.want)
			}
		}
	}
}
