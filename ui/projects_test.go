package ui_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// The portal and the API see the same projects: one made in the portal
// is in the API, one made through the API is in the portal, and the
// person's rights decide the buttons shown.
func TestProjectsBothWays(t *testing.T) {
	host := startServer(t)
	b := newBrowser(t, host)

	// Not signed in: every page goes to the sign-in page, back after.
	code, body := b.get("/projects/x")
	if code != http.StatusOK || !strings.Contains(body, `id="login-form"`) || !strings.Contains(body, `name="next" value="/projects/x"`) {
		t.Fatalf("signed out: %d\n%s", code, body)
	}
	code, body = b.post("/login", url.Values{"principal": {"admin"}, "password": {"wrong-password"}})
	if code != http.StatusOK || !strings.Contains(body, `data-test="flash-error"`) || !strings.Contains(body, `id="login-form"`) {
		t.Fatalf("a wrong password: %d\n%s", code, body)
	}
	b.signIn("admin", adminPassword)

	code, body = b.post("/projects", url.Values{"name": {"from-portal"}, "back": {"/projects"}})
	if code != http.StatusOK || !strings.Contains(body, "<h1>from-portal") || !strings.Contains(body, `data-test="flash-ok"`) {
		t.Fatalf("creating a project: %d\n%s", code, body)
	}
	out := mustAPI(t, host, "GET", "/projects?name=from-portal", "", 200)
	if !slices.Contains(names(t, out), "from-portal") || !strings.Contains(out, `"public":"false"`) {
		t.Errorf("the API does not see the portal's project: %s", out)
	}
	// A bad name: the API's message, back on the form's page.
	code, body = b.post("/projects", url.Values{"name": {"Bad Name"}, "back": {"/projects"}})
	if code != http.StatusOK || !strings.Contains(body, `data-test="flash-error"`) || !strings.Contains(body, "Bad Name") {
		t.Errorf("a bad project name: %d\n%s", code, body)
	}

	mustAPI(t, host, "POST", "/projects", `{"project_name":"from-api","metadata":{"public":"true"}}`, 201)
	body = b.page("/projects?q=from-api")
	if !strings.Contains(body, `href="/projects/from-api"`) || strings.Contains(body, `href="/projects/from-portal"`) {
		t.Errorf("searching projects: %s", body)
	}
	body = b.page("/projects/from-api")
	if !strings.Contains(body, `data-test="delete-project"`) || !strings.Contains(body, `data-test="access">Public`) {
		t.Errorf("the admin's project page: %s", body)
	}

	// Make the API's project private through the portal.
	b.post("/projects/from-api/access", url.Values{"public": {"false"}, "back": {"/projects/from-api"}})
	out = mustAPI(t, host, "GET", "/projects/from-api", "", 200)
	if !strings.Contains(out, `"public":"false"`) {
		t.Errorf("after making it private: %s", out)
	}

	// A guest sees the project, but no button to delete or change it.
	mustAPI(t, host, "POST", "/users", `{"username":"gus","password":"gus-password-1"}`, 201)
	mustAPI(t, host, "POST", "/projects/from-api/members", `{"role_id":3,"member_user":{"username":"gus"}}`, 201)
	g := newBrowser(t, host)
	g.signIn("gus", "gus-password-1")
	body = g.page("/projects")
	if !strings.Contains(body, `href="/projects/from-api"`) || strings.Contains(body, `href="/projects/from-portal"`) {
		t.Errorf("the guest's projects: %s", body)
	}
	body = g.page("/projects/from-api")
	if strings.Contains(body, `data-test="delete`) || strings.Contains(body, `data-test="make-public"`) || !strings.Contains(body, "Guest") {
		t.Errorf("the guest's project page: %s", body)
	}
	// And the API refuses the guest's forged form anyway.
	code, body = g.post("/projects/from-api/delete", url.Values{"back": {"/projects/from-api"}})
	if code != http.StatusOK || !strings.Contains(body, `data-test="flash-error"`) {
		t.Errorf("a guest deleting: %d\n%s", code, body)
	}
	mustAPI(t, host, "GET", "/projects/from-api", "", 200)

	// The admin deletes it.
	b.post("/projects/from-api/delete", url.Values{})
	mustAPI(t, host, "GET", "/projects/from-api", "", 404)

	// Signing out ends the session: pages ask for sign-in again.
	b.post("/logout", nil)
	_, body = b.get("/projects")
	if !strings.Contains(body, `id="login-form"`) {
		t.Errorf("after signing out: %s", body)
	}
}

// A form posted without the CSRF cookie's token, or from another site,
// changes nothing.
func TestCSRF(t *testing.T) {
	host := startServer(t)
	b := newBrowser(t, host)
	b.signIn("admin", adminPassword)
	tok := b.csrf()
	for name, req := range map[string]func() *http.Request{
		"no token": func() *http.Request {
			r, _ := http.NewRequest("POST", "http://"+host+"/projects", strings.NewReader(url.Values{"name": {"forged"}}.Encode()))
			return r
		},
		"wrong token": func() *http.Request {
			r, _ := http.NewRequest("POST", "http://"+host+"/projects", strings.NewReader(url.Values{"name": {"forged"}, "csrf": {tok + "x"}}.Encode()))
			return r
		},
		"another site": func() *http.Request {
			r, _ := http.NewRequest("POST", "http://"+host+"/projects", strings.NewReader(url.Values{"name": {"forged"}, "csrf": {tok}}.Encode()))
			r.Header.Set("Origin", "http://evil.example")
			return r
		},
		"cross-site fetch": func() *http.Request {
			r, _ := http.NewRequest("POST", "http://"+host+"/projects", strings.NewReader(url.Values{"name": {"forged"}, "csrf": {tok}}.Encode()))
			r.Header.Set("Sec-Fetch-Site", "cross-site")
			return r
		},
	} {
		r := req()
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := b.c.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, resp.StatusCode)
		}
	}
	mustAPI(t, host, "GET", "/projects/forged", "", 404)
	// The same form with the token is taken.
	code, _ := b.post("/projects", url.Values{"name": {"forged"}})
	if code != http.StatusOK {
		t.Fatalf("with the token: %d", code)
	}
	mustAPI(t, host, "GET", "/projects/forged", "", 200)
}

// Every answer carries the strict policy, and pages are not cached.
func TestSecurityHeaders(t *testing.T) {
	host := startServer(t)
	resp, err := http.Get("http://" + host + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "http") {
		t.Errorf("CSP %q allows inline code or another origin", csp)
	}
	if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("headers: %v", resp.Header)
	}
	for _, c := range resp.Cookies() {
		if c.Name == "berth-csrf" && (!c.HttpOnly || c.SameSite != http.SameSiteStrictMode) {
			t.Errorf("CSRF cookie: %+v", c)
		}
	}
	// A redirect after sign-in never leaves the site.
	b := newBrowser(t, host)
	b.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for _, next := range []string{"//evil.example/x", "https://evil.example/", "/\\evil.example"} {
		form := url.Values{"principal": {"admin"}, "password": {adminPassword}, "next": {next}, "csrf": {b.csrf()}}
		resp, err := b.c.PostForm("http://"+host+"/login", form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); loc != "/projects" {
			t.Errorf("next=%s: went to %q", next, loc)
		}
	}
}
