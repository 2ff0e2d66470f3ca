package ui

import (
	"net/http"
	"time"
)

// themeCookie remembers a person's theme: "light" or "dark" (without it
// the browser's preference decides).
const themeCookie = "berth-theme"

// themeOf returns the remembered theme, or "" for the browser's.
func themeOf(r *http.Request) string {
	if c, err := r.Cookie(themeCookie); err == nil && (c.Value == "light" || c.Value == "dark") {
		return c.Value
	}
	return ""
}

// setPrefs is POST /prefs: lang=en|zh-CN and theme=light|dark, each
// remembered for a year, then back to the page.
func (h *Handler) setPrefs(w http.ResponseWriter, r *http.Request) (string, string, error) {
	year := int((365 * 24 * time.Hour).Seconds())
	if l := r.PostFormValue("lang"); validLang(l) {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l, Path: "/", MaxAge: year, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
	}
	if t := r.PostFormValue("theme"); t == "light" || t == "dark" {
		http.SetCookie(w, &http.Cookie{Name: themeCookie, Value: t, Path: "/", MaxAge: year, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
	}
	return backTo(r), "", nil
}
