package ui

import (
	"net/http"
	"net/url"
)

var _ = addMessages(map[string]msg{
	"login.title":    {"Sign in", "登录"},
	"login.user":     {"Username", "用户名"},
	"login.password": {"Password", "密码"},
	"login.submit":   {"Sign in", "登录"},
	"login.oidc":     {"Sign in with %s", "通过 %s 登录"},
	"login.ldap":     {"Accounts of the directory (LDAP) sign in here too.", "目录（LDAP）账户也在此登录。"},
	"login.failed":   {"Sign-in failed: %s", "登录失败：%s"},
	"logout":         {"Sign out", "退出"},
})

// loginPage is GET /login: the form (and, with OIDC, the provider's
// button); a signed-in person goes on at once.
func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	v := h.baseView(w, r)
	if _, err := h.api.do(r, call{method: http.MethodGet, path: "/users/current"}, nil); err == nil {
		http.Redirect(w, r, nextOf(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	v.Title = v.L.T("login.title")
	v.Data = map[string]string{"Next": nextOf(r.URL.Query().Get("next"))}
	h.render(w, r, http.StatusOK, "login", v)
}

// nextOf returns where to go after signing in: a path of this site, else
// the projects page.
func nextOf(next string) string { return localPath(next, "/projects") }

// login is POST /login: the credentials go to the API's POST /c/login,
// whose session cookie the browser keeps.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) (string, string, error) {
	form := url.Values{"principal": {r.PostFormValue("principal")}, "password": {r.PostFormValue("password")}}
	a, err := h.api.do(r, call{method: http.MethodPost, path: "/c/login", body: form}, nil)
	if err != nil {
		return "", "", &APIError{Status: statusOf(err), Message: localeOf(r).T("login.failed", err.Error())}
	}
	for _, c := range a.header.Values("Set-Cookie") {
		w.Header().Add("Set-Cookie", c)
	}
	return nextOf(r.PostFormValue("next")), "", nil
}

// logout is POST /logout: the API ends the session and clears its
// cookie.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) (string, string, error) {
	a, err := h.api.do(r, call{method: http.MethodGet, path: "/c/log_out"}, nil)
	for _, c := range a.header.Values("Set-Cookie") {
		w.Header().Add("Set-Cookie", c)
	}
	return "/login", "", err
}
