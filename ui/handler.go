package ui

import (
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
)

//go:embed static
var staticFiles embed.FS

// Handler serves the portal. Build it with New.
type Handler struct {
	api      apiClient
	mux      *http.ServeMux
	pages    map[string]*template.Template
	log      *slog.Logger
	pullHost string
}

// Option configures New.
type Option func(*Handler)

// WithLogger sets where the portal logs what failed (default: slog's
// default logger).
func WithLogger(l *slog.Logger) Option { return func(h *Handler) { h.log = l } }

// WithPullHost sets the registry host the portal writes into the pull
// commands it shows (default: the host the browser asked for).
func WithPullHost(host string) Option { return func(h *Handler) { h.pullHost = host } }

// New returns the portal over the admin API served by api (package api's
// Handler, mounted at /api/v2.0/ and /c/ of the same origin): every page
// reads and every action writes through it, as the person signed in.
func New(api http.Handler, opts ...Option) (*Handler, error) {
	if api == nil {
		return nil, errors.New("ui: the admin API handler is required")
	}
	h := &Handler{api: apiClient{h: api}, mux: http.NewServeMux(), log: slog.Default()}
	for _, o := range opts {
		o(h)
	}
	pages, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	h.pages = pages
	static, err := fs.Sub(staticFiles, "static")
	if err != nil {
		return nil, err
	}
	h.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	h.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/projects", http.StatusSeeOther)
	})
	for _, rt := range h.routes() {
		h.mux.HandleFunc(rt.pattern, rt.fn)
	}
	return h, nil
}

// route is one page or action of the portal.
type route struct {
	pattern string
	fn      http.HandlerFunc
}

// ServeHTTP implements http.Handler: every answer carries a strict
// Content-Security-Policy (only the portal's own script and styles, no
// inline code, no framing, forms only to itself).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "same-origin")
	if !strings.HasPrefix(r.URL.Path, "/static/") {
		hd.Set("Cache-Control", "no-store")
	}
	h.mux.ServeHTTP(w, r)
}

// pageFunc fills a page's view; an error is shown on the page with the
// API's status and message.
type pageFunc func(w http.ResponseWriter, r *http.Request, v *view) (name string, err error)

// page wraps a page: the person must be signed in (else the sign-in
// page, coming back here after), and the view is filled with what every
// page shows.
func (h *Handler) page(section string, fn pageFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, ok := h.newView(w, r, section)
		if !ok {
			return
		}
		name, err := fn(w, r, v)
		if err != nil {
			h.showError(w, r, v, err)
			return
		}
		if name == "" { // fn answered itself
			return
		}
		h.render(w, r, http.StatusOK, name, v)
	}
}

// newView fills what every page shows; without a signed-in person it
// sends the browser to the sign-in page and reports false.
func (h *Handler) newView(w http.ResponseWriter, r *http.Request, section string) (*view, bool) {
	var u currentUser
	if _, err := h.api.do(r, call{method: http.MethodGet, path: "/users/current"}, &u); err != nil {
		if statusOf(err) == http.StatusUnauthorized || statusOf(err) == http.StatusNotFound {
			// The flash (a sign-in's failure) waits for the sign-in page.
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return nil, false
		}
		h.showError(w, r, h.baseView(w, r), err)
		return nil, false
	}
	v := h.baseView(w, r)
	v.Section = section
	v.User = &u
	return v, true
}

// baseView fills what every page, the sign-in page included, shows.
func (h *Handler) baseView(w http.ResponseWriter, r *http.Request) *view {
	v := &view{L: localeOf(r), Theme: themeOf(r), CSRF: csrfToken(w, r), Path: r.URL.RequestURI()}
	_, _ = h.api.do(r, call{method: http.MethodGet, path: "/systeminfo"}, &v.Info)
	v.Flash = takeFlash(w, r)
	return v
}

// showError renders the error page with the API's status and message.
func (h *Handler) showError(w http.ResponseWriter, r *http.Request, v *view, err error) {
	var ae *APIError
	if !errors.As(err, &ae) {
		h.log.ErrorContext(r.Context(), "portal page", "path", r.URL.Path, "err", err)
		ae = &APIError{Status: http.StatusInternalServerError, Message: err.Error()}
	}
	v.Title = v.L.T("error.title")
	v.Data = ae
	h.render(w, r, ae.Status, "error", v)
}

// actionFunc performs an action; it returns where to go next and the
// message to show there (a key of the catalog).
type actionFunc func(w http.ResponseWriter, r *http.Request) (next, done string, err error)

// action wraps an unsafe request of the portal's forms: refused without
// a matching CSRF token; on success the browser goes on (post, redirect,
// get) with a message; on failure back to the form's page with the API's
// message.
func (h *Handler) action(fn actionFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		if err := r.ParseForm(); err != nil || !checkCSRF(r) {
			v := h.baseView(w, r)
			h.showError(w, r, v, &APIError{Status: http.StatusForbidden, Message: v.L.T("error.csrf")})
			return
		}
		next, done, err := fn(w, r)
		if next == "" && err == nil { // fn answered itself
			return
		}
		if err != nil {
			setFlash(w, r, "error", err.Error())
			http.Redirect(w, r, backTo(r), http.StatusSeeOther)
			return
		}
		if done != "" {
			setFlash(w, r, "ok", localeOf(r).T(done))
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
	}
}

// backTo returns the form's "back" field when it is a path of this
// site, else the projects page.
func backTo(r *http.Request) string {
	return localPath(r.PostFormValue("back"), "/projects")
}

// localPath returns p when it is a path on this site (not "//host", a
// scheme, a backslash browsers read as a slash, or a control character),
// else fallback.
func localPath(p, fallback string) string {
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" ||
		!strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\r\n\t") {
		return fallback
	}
	return p
}

// flash is the outcome of the last action, shown once on the next page.
type flash struct {
	Kind    string // "ok" or "error"
	Message string
}

const flashCookie = "berth-flash"

// setFlash remembers a message for the next page.
func setFlash(w http.ResponseWriter, r *http.Request, kind, message string) {
	if len(message) > 1000 {
		message = message[:1000]
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + message)),
		Path: "/", HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, MaxAge: 60})
}

// takeFlash returns the remembered message, if any, and forgets it.
func takeFlash(w http.ResponseWriter, r *http.Request) *flash {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return nil
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Path: "/", MaxAge: -1, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	b, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return nil
	}
	kind, message, ok := strings.Cut(string(b), ":")
	if !ok || (kind != "ok" && kind != "error") {
		return nil
	}
	return &flash{Kind: kind, Message: message}
}
