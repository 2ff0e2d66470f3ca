package ui

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
)

// csrfCookie holds the browser's CSRF token; every form of the portal
// carries the same token in its csrfField, and a change is refused unless
// the two agree (a page of another site can make the browser post, but
// can neither read the cookie nor set it). It needs no key, so any
// instance of a cluster checks what another issued.
const (
	csrfCookie = "berth-csrf"
	csrfField  = "csrf"
)

// csrfToken returns the request's token, issuing one (a cookie on w)
// when the browser has none.
func csrfToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) == 43 {
		return c.Value
	}
	var b [32]byte
	_, _ = rand.Read(b[:])
	tok := base64.RawURLEncoding.EncodeToString(b[:])
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: tok, Path: "/", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	return tok
}

// checkCSRF reports whether an unsafe request comes from the portal's own
// page: the browser says it is same-origin where it says anything
// (Sec-Fetch-Site, Origin), and the form's token matches the cookie's.
func checkCSRF(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return false
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return false
		}
	}
	c, err := r.Cookie(csrfCookie)
	if err != nil || c.Value == "" {
		return false
	}
	got := r.PostFormValue(csrfField)
	return subtle.ConstantTimeCompare([]byte(got), []byte(c.Value)) == 1
}
