package ui_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"os"
	"strings"
	"testing"

	"github.com/berthreg/berth/internal/oidctest"
	"github.com/berthreg/berth/internal/testserver"
	"github.com/berthreg/berth/server"
	"golang.org/x/crypto/bcrypt"
)

// A directory (LDAP) account signs in through the portal's form, against
// the real slapd of scripts/slapd.sh.
func TestSignInLDAP(t *testing.T) {
	url := os.Getenv("BERTH_SLAPD_URL")
	if url == "" {
		if testing.Short() {
			t.Skip("BERTH_SLAPD_URL is unset; skipped with -short")
		}
		t.Fatal("BERTH_SLAPD_URL is unset: run under scripts/slapd.sh, which starts a real slapd")
	}
	host := startServer(t, func(c *server.Config) {
		base := os.Getenv("BERTH_SLAPD_BASE_DN")
		c.Auth.LDAP = server.LDAPConfig{URL: url, BaseDN: base, BindDN: os.Getenv("BERTH_SLAPD_BIND_DN"),
			BindPassword: os.Getenv("BERTH_SLAPD_BIND_PASSWORD"), GroupBaseDN: "ou=groups," + base}
	})
	mustAPI(t, host, "POST", "/projects", `{"project_name":"team"}`, 201)
	mustAPI(t, host, "POST", "/projects/team/members", `{"role_id":2,"member_group":{"group_name":"devs"}}`, 201)
	b := newBrowser(t, host)
	body := b.page("/login")
	if !strings.Contains(body, "LDAP") {
		t.Errorf("the sign-in page does not mention the directory: %s", body)
	}
	b.signIn("bob", "bob-password")
	body = b.page("/projects")
	if !strings.Contains(body, `href="/projects/team"`) || !strings.Contains(body, "Developer") {
		t.Errorf("bob's projects (his group devs develops team): %s", body)
	}
}

// With OpenID Connect, the sign-in page offers the provider, and signing
// in there brings the person back to the portal, signed in.
func TestSignInOIDC(t *testing.T) {
	var idp *oidctest.Provider
	var base string
	host := testserver.StartWith(t, func(host string) server.Config {
		base = "http://" + host
		idp = oidctest.Start(t, "berth", "berth-client-secret", []string{base + "/c/oidc/callback"},
			oidctest.User{ID: "sub-bob", Username: "bob", Password: "bob-at-idp", Email: "bob@example.org", Name: "Bob"})
		cfg := server.DefaultConfig()
		cfg.DataDir = t.TempDir()
		cfg.Auth.AdminPassword = adminPassword
		cfg.Auth.HashCost = bcrypt.MinCost
		cfg.Auth.OIDC = server.OIDCConfig{Issuer: idp.URL, ClientID: "berth", ClientSecret: "berth-client-secret",
			RedirectURL: base + "/c/oidc/callback", Scopes: []string{"profile", "email"}}
		cfg.Outbound.Allow = []string{"127.0.0.0/8", "::1"}
		return cfg
	}, server.WithLogger(slog.New(slog.DiscardHandler)))

	b := newBrowser(t, host)
	body := b.page("/login?next=/projects")
	if !strings.Contains(body, `data-test="login-oidc"`) || !strings.Contains(body, `href="/c/oidc/login?redirect_url=%2fprojects"`) {
		t.Fatalf("the sign-in page offers no provider: %s", body)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	res, err := idp.SignIn(c, base+"/c/oidc/login?redirect_url=%2Fprojects", "bob", "bob-at-idp")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Request.URL.Path != "/projects" || !strings.Contains(string(page), `data-test="who">bob<`) {
		t.Fatalf("after signing in at the provider: %d at %s\n%s", res.StatusCode, res.Request.URL, page)
	}
}
