package api

import (
	_ "embed"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/meta"
)

// Prefix is where the API is served.
const Prefix = "/api/v2.0"

// openAPI is the API's OpenAPI 3 document, served at Prefix+"/openapi.json".
//
//go:embed openapi.json
var openAPI []byte

// Handler serves the admin API. Create it with New.
type Handler struct {
	m     *accounts.Manager
	store meta.Store
	authn auth.Authenticator
	log   *slog.Logger
	mux   *http.ServeMux
	// routes lists the "METHOD /path" patterns served, below Prefix.
	routes []string
}

// New returns the API over the accounts Manager m and its store; authn
// checks basic credentials (usually m itself); logger receives unexpected
// failures (nil: none).
func New(m *accounts.Manager, store meta.Store, authn auth.Authenticator, logger *slog.Logger) *Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{m: m, store: store, authn: authn, log: logger, mux: http.NewServeMux()}
	h.route("GET /projects", h.listProjects)
	h.route("HEAD /projects", h.headProject)
	h.route("POST /projects", h.createProject)
	h.route("GET /projects/{project}", h.getProject)
	h.route("PUT /projects/{project}", h.updateProject)
	h.route("DELETE /projects/{project}", h.deleteProject)
	h.route("GET /projects/{project}/members", h.listMembers)
	h.route("POST /projects/{project}/members", h.addMember)
	h.route("PUT /projects/{project}/members/{mid}", h.updateMember)
	h.route("DELETE /projects/{project}/members/{mid}", h.deleteMember)
	h.route("GET /users", h.listUsers)
	h.route("POST /users", h.createUser)
	h.route("GET /users/current", h.currentUser)
	h.route("GET /users/{user}", h.getUser)
	h.route("PUT /users/{user}/password", h.setPassword)
	h.route("PUT /users/{user}/sysadmin", h.setSysadmin)
	h.route("DELETE /users/{user}", h.deleteUser)
	h.route("GET /robots", h.listRobots)
	h.route("POST /robots", h.createRobot)
	h.route("GET /robots/{robot}", h.getRobot)
	h.route("PUT /robots/{robot}", h.updateRobot)
	h.route("PATCH /robots/{robot}", h.refreshSecret)
	h.route("DELETE /robots/{robot}", h.deleteRobot)
	h.route("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request, _ auth.Principal) error {
		w.Header().Set("Content-Type", "application/json")
		_, err := w.Write(openAPI)
		return err
	})
	return h
}

// handlerFunc is an API endpoint: it returns an error to answer with.
type handlerFunc func(w http.ResponseWriter, r *http.Request, p auth.Principal) error

// route registers an endpoint below Prefix: the principal is resolved
// first, and returned errors become Harbor-shaped answers.
func (h *Handler) route(pattern string, fn handlerFunc) {
	h.routes = append(h.routes, pattern)
	method, path, _ := strings.Cut(pattern, " ")
	h.mux.HandleFunc(method+" "+Prefix+path, func(w http.ResponseWriter, r *http.Request) {
		p, err := h.principal(r)
		if err == nil {
			err = fn(w, r, p)
		}
		if err != nil {
			h.writeError(w, r, err)
		}
	})
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// principal authenticates the request's basic credentials; none is the
// anonymous principal, bad ones are 401.
func (h *Handler) principal(r *http.Request) (auth.Principal, error) {
	name, secret, ok := r.BasicAuth()
	if !ok {
		return auth.AnonymousPrincipal, nil
	}
	p, err := h.authn.Authenticate(r.Context(), name, secret)
	if errors.Is(err, auth.ErrBadCredentials) {
		return p, &apiError{http.StatusUnauthorized, codeUnauthorized, "bad credentials"}
	}
	return p, err
}

// signedIn refuses the anonymous principal.
func signedIn(p auth.Principal) error {
	if p.Kind == auth.Anonymous {
		return &apiError{http.StatusUnauthorized, codeUnauthorized, "authentication required"}
	}
	return nil
}
