package guard

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/rbac"
	"github.com/berthreg/berth/auth/token"
	"github.com/berthreg/berth/registry"
)

// TestRealmIgnoresTheHostHeader: with an external URL set, the challenge of
// a path realm names it, whatever Host the request claims; without one the
// realm follows the request (documented on WithExternalURL).
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
	g := realmGuard(t, "/service/token", WithExternalURL("https://registry.example.com/"))
	if got, want := challenge(g), `Bearer realm="https://registry.example.com/service/token",service="berth-registry"`; got != want {
		t.Fatalf("challenge %s\nwant      %s", got, want)
	}
	g = realmGuard(t, "/service/token")
	if got, want := challenge(g), `Bearer realm="http://evil.example/service/token",service="berth-registry"`; got != want {
		t.Fatalf("without an external URL: %s\nwant %s", got, want)
	}
	g = realmGuard(t, "https://auth.example.com/token", WithExternalURL("https://registry.example.com"))
	if got, want := challenge(g), `Bearer realm="https://auth.example.com/token",service="berth-registry"`; got != want {
		t.Fatalf("an absolute realm: %s\nwant %s", got, want)
	}
}

// realmGuard is a guard with realm and opts over a throw-away key and no
// projects.
func realmGuard(t *testing.T, realm string, opts ...Option) *Guard {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ver, err := token.NewVerifier("berth-token", "berth-registry", map[string]crypto.PublicKey{"k": key.Public()})
	if err != nil {
		t.Fatal(err)
	}
	az, err := rbac.New(projects{})
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(realm, "berth-registry", ver, az, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestNewRefusesMissingParts(t *testing.T) {
	g := realmGuard(t, "/service/token")
	for want, c := range map[string]struct {
		realm, service string
		ver            *token.Verifier
		az             auth.Authorizer
	}{
		"realm":        {"", "s", g.verifier, g.authz},
		"service name": {"/t", "", g.verifier, g.authz},
		"verifier":     {"/t", "s", nil, g.authz},
		"authorizer":   {"/t", "s", g.verifier, nil},
	} {
		if got, err := New(c.realm, c.service, c.ver, c.az); err == nil || got != nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New without %s = %v, %v; want an error naming it", want, got, err)
		}
	}
}
