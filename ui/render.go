package ui

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
)

//go:embed templates/*.html
var templateFiles embed.FS

// shared are the templates every page is parsed with: the layout and
// the partials (pager, flash, sort links).
var shared = []string{"templates/layout.html", "templates/partials.html"}

// view is what every page's template gets: the person's language, theme,
// CSRF token and account, the flash of the last action, and the page's
// own data.
type view struct {
	L       locale
	Theme   string
	CSRF    string
	User    *currentUser
	Info    systemInfo
	Title   string
	Section string
	Path    string
	Flash   *flash
	Data    any
}

// currentUser is the signed-in person (GET /users/current).
type currentUser struct {
	Username string `json:"username"`
	Realname string `json:"realname"`
	Email    string `json:"email"`
	Admin    bool   `json:"sysadmin_flag"`
}

// systemInfo is what the portal needs of GET /systeminfo.
type systemInfo struct {
	AuthMode        string `json:"auth_mode"`
	PrimaryAuthMode bool   `json:"primary_auth_mode"`
	RegistryURL     string `json:"registry_url"`
	Version         string `json:"harbor_version"`
	OIDCProvider    string `json:"oidc_provider_name"`
	Scanning        bool   `json:"scanning"`
	Banner          string `json:"banner_message"`
}

// parseTemplates parses each page file of templates/ together with the
// shared ones, by its name without ".html".
func parseTemplates() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		if isShared(n) {
			continue
		}
		t, err := template.New(path.Base(n)).Funcs(funcs).ParseFS(templateFiles, append(append([]string{}, shared...), n)...)
		if err != nil {
			return nil, fmt.Errorf("ui: template %s: %w", n, err)
		}
		pages[strings.TrimSuffix(path.Base(n), ".html")] = t
	}
	return pages, nil
}

func isShared(n string) bool {
	for _, s := range shared {
		if s == n {
			return true
		}
	}
	return false
}

// funcs are the helpers templates use.
var funcs = template.FuncMap{
	"size":  humanSize,
	"when":  humanTime,
	"q":     url.QueryEscape,
	"short": shortDigest,
	"add":   func(a, b int) int { return a + b },
	"pct": func(part, whole int64) int64 {
		if whole <= 0 {
			return 0
		}
		return part * 100 / whole
	},
	"repoURL":     repoURL,
	"artifactURL": artifactURL,
	"repoIn":      repoIn,
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			k, _ := kv[i].(string)
			m[k] = kv[i+1]
		}
		return m
	},
}

// shortDigest writes a digest as its algorithm and first 12 hex digits.
func shortDigest(d string) string {
	alg, hex, ok := strings.Cut(d, ":")
	if !ok || len(hex) <= 12 {
		return d
	}
	return alg + ":" + hex[:12]
}

// repoIn returns a repository's name within its project.
func repoIn(project, full string) string {
	return strings.TrimPrefix(full, project+"/")
}

// repoURL is the portal's page of a repository (its full name).
func repoURL(project, full string) string {
	return "/projects/" + url.PathEscape(project) + "/repository?name=" + url.QueryEscape(repoIn(project, full))
}

// artifactURL is the portal's page of an artifact of a repository (its
// full name), by digest or tag.
func artifactURL(project, full, ref string) string {
	return "/projects/" + url.PathEscape(project) + "/artifact?repo=" + url.QueryEscape(repoIn(project, full)) + "&ref=" + url.QueryEscape(ref)
}

// render writes page name with v: the whole page, or only its "live"
// template when the portal's script asks for a fragment to refresh.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, v *view) {
	t, ok := h.pages[name]
	if !ok {
		http.Error(w, "ui: no page "+name, http.StatusInternalServerError)
		return
	}
	which := "layout"
	if r.Header.Get(fragmentHeader) != "" && t.Lookup("live") != nil {
		which = "live"
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, which, v); err != nil {
		h.log.ErrorContext(r.Context(), "rendering a page", "page", name, "err", err)
		http.Error(w, "ui: rendering "+name+" failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fragmentHeader marks the portal script's request for a page's live
// part.
const fragmentHeader = "X-Berth-Fragment"
