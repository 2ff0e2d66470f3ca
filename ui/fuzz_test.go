package ui

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzRedirectTarget: whatever a form's "next" or "back" holds, the
// portal redirects only to a path of its own site.
func FuzzRedirectTarget(f *testing.F) {
	for _, s := range []string{"/projects", "//evil.example", "/\\evil", "https://evil.example/", "", "/a?b=c", "javascript:alert(1)", "/%2F%2Fevil"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := nextOf(next)
		u, err := url.Parse(got)
		if err != nil {
			t.Fatalf("%q -> %q does not parse: %v", next, got, err)
		}
		if u.Scheme != "" || u.Host != "" || !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.HasPrefix(got, "/\\") {
			t.Fatalf("%q -> %q leaves the site", next, got)
		}
		// Browsers read a backslash as a slash: none may start the path.
		if len(got) > 1 && (got[1] == '\\' || got[1] == '/') {
			t.Fatalf("%q -> %q", next, got)
		}
	})
}

// FuzzRequestPreferences: any Accept-Language, language, theme or
// flash cookie gives a language the portal speaks, a known theme and a
// flash of a known kind, without a panic.
func FuzzRequestPreferences(f *testing.F) {
	f.Add("zh-CN,zh;q=0.9,en;q=0.8", "en", "dark", "b2s6aGVsbG8")
	f.Add("", "", "", "")
	f.Add(";;,,", "xx", "<script>", "!!!")
	f.Fuzz(func(t *testing.T, accept, lang, theme, flashValue string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Accept-Language", accept)
		for _, c := range []*http.Cookie{{Name: langCookie, Value: lang}, {Name: themeCookie, Value: theme}, {Name: flashCookie, Value: flashValue}} {
			if c.Valid() == nil {
				r.AddCookie(c)
			}
		}
		if l := localeOf(r); !validLang(l.Lang) {
			t.Fatalf("language %q", l.Lang)
		}
		if th := themeOf(r); th != "" && th != "light" && th != "dark" {
			t.Fatalf("theme %q", th)
		}
		if fl := takeFlash(httptest.NewRecorder(), r); fl != nil && fl.Kind != "ok" && fl.Kind != "error" {
			t.Fatalf("flash %+v", fl)
		}
	})
}
