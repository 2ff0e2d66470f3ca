package api

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/session"
)

// TestSessions: POST /c/login starts a session the API accepts (unsafe
// methods only with X-Requested-With), GET /c/log_out ends it; robots and
// wrong passwords get none; failed logins, by form or basic credentials,
// are rate limited.
func TestSessions(t *testing.T) {
	limiter := testLimiter(t, auth.WithMaxFailures(3))
	base, m := newAPI(t, WithLimiter(limiter), WithSessions(testSessions(t)))
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	send := func(method, path string, body io.Reader, hdr ...string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, body)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	form := func(user, pass string) (int, string) {
		t.Helper()
		return send("POST", "/c/login", strings.NewReader(url.Values{"principal": {user}, "password": {pass}}.Encode()),
			"Content-Type", "application/x-www-form-urlencoded")
	}

	if code, _ := form("alice", "wrong"); code != 401 {
		t.Errorf("a wrong password: %d", code)
	}
	if code, _ := send("GET", Prefix+"/users/current", nil); code != 401 {
		t.Errorf("no session yet: %d", code)
	}
	if code, out := form("alice", "alice-password"); code != 200 {
		t.Fatalf("login: %d %s", code, out)
	}
	if code, out := send("GET", Prefix+"/users/current", nil); code != 200 || !strings.Contains(out, `"username":"alice"`) {
		t.Errorf("the session's user: %d %s", code, out)
	}
	if code, out := send("POST", Prefix+"/projects", strings.NewReader(`{"project_name":"team"}`)); code != 403 || !strings.Contains(out, "X-Requested-With") {
		t.Errorf("a session POST without X-Requested-With: %d %s", code, out)
	}
	if code, out := send("POST", Prefix+"/projects", strings.NewReader(`{"project_name":"team"}`), "X-Requested-With", "XMLHttpRequest"); code != 201 {
		t.Errorf("a session POST with X-Requested-With: %d %s", code, out)
	}
	// A deleted account's session stops working at once.
	if err := m.DeleteUser(t.Context(), "alice"); err != nil {
		t.Fatal(err)
	}
	if code, _ := send("GET", Prefix+"/users/current", nil); code != 401 {
		t.Errorf("a deleted account's session: %d", code)
	}
	if code, _ := send("GET", "/c/log_out", nil); code != 200 {
		t.Errorf("log out: %d", code)
	}
	if u, _ := url.Parse(base); len(jar.Cookies(u)) != 0 {
		t.Errorf("cookies after log out: %v", jar.Cookies(u))
	}

	// Robots use basic credentials, not sessions.
	admin := client{t, base, "admin", "admin-password"}
	_, out := admin.want("POST", "/robots", `{"name":"ci","level":"project","duration":-1,"permissions":[{"kind":"project","namespace":"team","access":[{"resource":"repository","action":"pull"}]}]}`, 201, "")
	secret := out[strings.Index(out, `"secret":"`)+10:]
	secret = secret[:strings.Index(secret, `"`)]
	if code, out := form("robot$team+ci", secret); code != 403 {
		t.Errorf("a robot's session login: %d %s", code, out)
	}
	if code, _ := form("", ""); code != 400 {
		t.Errorf("an empty form: %d", code)
	}

	// Rate limiting, shared by the form and basic credentials.
	bob := client{t, base, "bob", "wrong"}
	for range 3 {
		bob.want("GET", "/users/current", "", 401, "UNAUTHORIZED")
	}
	resp, _ := client{t, base, "bob", "bob-password"}.want("GET", "/users/current", "", 429, "TOO_MANY_REQUESTS")
	if resp.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	if code, _ := form("bob", "bob-password"); code != 429 {
		t.Errorf("the form while bob is limited: %d", code)
	}
}

// TestAuditLog: account changes made through the API and session logins
// are in the audit log with their operator and result; it filters with q,
// pages newest first, is for administrators (and a project's members for
// its own), and purges by age.
func TestAuditLog(t *testing.T) {
	base, _ := newAPI(t, WithSessions(testSessions(t)))
	admin := client{t, base, "admin", "admin-password"}
	alice := client{t, base, "alice", "alice-password"}
	admin.want("POST", "/projects", `{"project_name":"team"}`, 201, "")
	admin.want("POST", "/projects/team/members", `{"role_id":3,"member_user":{"username":"alice"}}`, 201, "")
	admin.want("POST", "/robots", `{"name":"ci","level":"project","duration":-1,"permissions":[{"kind":"project","namespace":"team","access":[{"resource":"repository","action":"pull"}]}]}`, 201, "")
	admin.want("DELETE", "/robots/robot$team+ci", "", 200, "")
	admin.want("POST", "/users", `{"username":"carol","password":"carol-password"}`, 201, "")
	for _, pw := range []string{"wrong", "bob-password"} {
		res, err := http.PostForm(base+"/c/login", url.Values{"principal": {"bob"}, "password": {pw}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}

	type entry struct {
		Resource, Operation, Username, Result string
		ResourceType                          string `json:"resource_type"`
		Project                               string `json:"project_name"`
	}
	var logs []entry
	_, out := admin.want("GET", "/audit-logs?page_size=100", "", 200, "")
	if err := json.Unmarshal([]byte(out), &logs); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range logs {
		got = append(got, l.Operation+" "+l.Resource+" by "+l.Username+" "+l.Result)
	}
	want := []string{
		"LOGIN bob by bob success",
		"LOGIN bob by bob failure",
		"CREATE_USER carol by admin success",
		"DELETE_ROBOT robot$team+ci by admin success",
		"CREATE_ROBOT robot$team+ci by admin success",
		"CHANGE_MEMBER user:alice by admin success",
		"CREATE_PROJECT team by admin success",
	}
	if len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
		t.Errorf("audit log, newest first:\n got %q\nwant %q first", got, want)
	}
	_, out = admin.want("GET", "/audit-logs?q=operation=LOGIN,username=bob", "", 200, "")
	if n := strings.Count(out, `"operation":"LOGIN"`); n != 2 || strings.Contains(out, "CREATE") {
		t.Errorf("q filter: %s", out)
	}
	admin.want("GET", "/audit-logs?q=nonsense", "", 400, "BAD_REQUEST")
	alice.want("GET", "/audit-logs", "", 403, "FORBIDDEN")
	_, out = alice.want("GET", "/projects/team/logs", "", 200, "")
	if !strings.Contains(out, "CREATE_ROBOT") || strings.Contains(out, "LOGIN") {
		t.Errorf("project log: %s", out)
	}
	admin.want("POST", "/system/purgeaudit", `{"audit_retention_hour":1}`, 200, "")
	_, out = admin.want("POST", "/system/purgeaudit", `{"audit_retention_hour":0}`, 200, "")
	if !strings.Contains(out, `"purged":"`) || strings.Contains(out, `"purged":"0"`) {
		t.Errorf("purge: %s", out)
	}
	if _, out = admin.want("GET", "/audit-logs", "", 200, ""); out != "[]\n" {
		t.Errorf("after purging everything: %s", out)
	}
	admin.want("POST", "/system/purgeaudit", `{}`, 400, "BAD_REQUEST")
}

// TestSessionRevocation: a copied session cookie stops working when its
// session ends (log out), when the account's password changes, and when
// the account is deleted, also for an account later made again with the
// same name.
func TestSessionRevocation(t *testing.T) {
	base, m := newAPI(t, WithSessions(testSessions(t)))
	login := func(user, pass string) []*http.Cookie {
		t.Helper()
		res, err := http.PostForm(base+"/c/login", url.Values{"principal": {user}, "password": {pass}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("login %s: %d", user, res.StatusCode)
		}
		return res.Cookies()
	}
	get := func(path string, cookies []*http.Cookie) int {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	current := Prefix + "/users/current"

	copied := login("alice", "alice-password")
	other := login("alice", "alice-password") // a second browser
	if code := get("/c/log_out", copied); code != 200 {
		t.Fatalf("log out: %d", code)
	}
	if code := get(current, copied); code != 401 {
		t.Errorf("a copied cookie after log out: %d, want 401", code)
	}
	if code := get(current, other); code != 200 {
		t.Errorf("another session of the account after one logged out: %d", code)
	}

	copied = login("alice", "alice-password")
	if err := m.SetUser(t.Context(), "alice", "alice-new-password", false); err != nil {
		t.Fatal(err)
	}
	if code := get(current, copied); code != 401 {
		t.Errorf("a copied cookie after a password change: %d, want 401", code)
	}

	copied = login("alice", "alice-new-password")
	if err := m.DeleteUser(t.Context(), "alice"); err != nil {
		t.Fatal(err)
	}
	if err := m.SetUser(t.Context(), "alice", "alice-password", false); err != nil {
		t.Fatal(err)
	}
	if code := get(current, copied); code != 401 {
		t.Errorf("a deleted account's cookie, on the account made again: %d, want 401", code)
	}
}

func testSessions(t testing.TB) *session.Sessions {
	t.Helper()
	s, err := session.New([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testLimiter(t testing.TB, opts ...auth.LimiterOption) *auth.LoginLimiter {
	t.Helper()
	l, err := auth.NewLoginLimiter(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return l
}
