package ui

import (
	"fmt"
	"net/http"
	"strings"
)

// The portal's languages: English and Simplified Chinese. langCookie
// remembers a person's choice; without one, Accept-Language decides.
const (
	langEnglish = "en"
	langChinese = "zh-CN"
	langCookie  = "berth-lang"
)

// msg is one message in each language.
type msg struct {
	en, zh string
}

// catalog holds every message of the portal by key; each page's file adds
// its own with addMessages, and a key added twice stops the program at
// start (TestCatalog checks that every key a template uses is here in
// both languages).
var catalog = map[string]msg{}

// addMessages adds messages to the catalog (from package variables, so
// all are in before the first request).
func addMessages(m map[string]msg) bool {
	for k, v := range m {
		if _, dup := catalog[k]; dup {
			panic("ui: message " + k + " added twice")
		}
		catalog[k] = v
	}
	return true
}

// locale translates into one language.
type locale struct {
	Lang string
}

// T returns the message key in the locale's language, formatted with
// args when there are any; an unknown key is returned as it is.
func (l locale) T(key string, args ...any) string {
	m, ok := catalog[key]
	if !ok {
		return key
	}
	s := m.en
	if l.Lang == langChinese && m.zh != "" {
		s = m.zh
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// Other is the language to switch to.
func (l locale) Other() string {
	if l.Lang == langChinese {
		return langEnglish
	}
	return langChinese
}

// localeOf picks the request's language: its cookie, else the first of
// Accept-Language the portal speaks, else English.
func localeOf(r *http.Request) locale {
	if c, err := r.Cookie(langCookie); err == nil && validLang(c.Value) {
		return locale{Lang: c.Value}
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag := strings.ToLower(strings.TrimSpace(strings.SplitN(part, ";", 2)[0]))
		switch {
		case strings.HasPrefix(tag, "zh"):
			return locale{Lang: langChinese}
		case strings.HasPrefix(tag, "en"):
			return locale{Lang: langEnglish}
		}
	}
	return locale{Lang: langEnglish}
}

// validLang reports a language the portal speaks.
func validLang(s string) bool { return s == langEnglish || s == langChinese }
