package guard

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/berthreg/berth/registry"
)

// TestRealmIgnoresTheHostHeader: with an external URL set, the challenge of
// a path realm names it, whatever Host the request claims; without one the
// realm follows the request (documented on Guard.ExternalURL).
func TestRealmIgnoresTheHostHeader(t *testing.T) {
	challenge := func(g *Guard) string {
		t.Helper()
		r := httptest.NewRequest(http.MethodGet, "http://evil.example/v2/", nil)
		r.Host = "evil.example"
		err := g.Authorize(t.Context(), &registry.Event{Action: registry.ActionPing, Request: r})
		var re *registry.Error
		if !errors.As(err, &re) || re.Status != http.StatusUnauthorized {
			t.Fatalf("anonymous ping: %v", err)
		}
		return re.Header.Get("Www-Authenticate")
	}
	g := &Guard{Realm: "/service/token", Service: "berth-registry", ExternalURL: "https://registry.example.com/"}
	if got, want := challenge(g), `Bearer realm="https://registry.example.com/service/token",service="berth-registry"`; got != want {
		t.Fatalf("challenge %s\nwant      %s", got, want)
	}
	g.ExternalURL = ""
	if got, want := challenge(g), `Bearer realm="http://evil.example/service/token",service="berth-registry"`; got != want {
		t.Fatalf("without an external URL: %s\nwant %s", got, want)
	}
	g.Realm, g.ExternalURL = "https://auth.example.com/token", "https://registry.example.com"
	if got, want := challenge(g), `Bearer realm="https://auth.example.com/token",service="berth-registry"`; got != want {
		t.Fatalf("an absolute realm: %s\nwant %s", got, want)
	}
}
