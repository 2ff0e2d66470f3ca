package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
)

// routes mounts the platform's API and, at every other path, the
// registry.
func (p *Platform) routes() {
	p.mux.HandleFunc("POST /platform/tenants", p.signedIn(true, p.postTenant))
	p.mux.HandleFunc("POST /platform/tenants/{tenant}/components", p.signedIn(false, p.postComponent))
	p.mux.HandleFunc("GET /platform/tenants/{tenant}/deployments", p.signedIn(false, p.getDeployments))
	p.mux.Handle("/", p.srv.Handler())
}

// signedIn checks the platform's own basic credentials: a platform
// administrator, or (unless adminOnly) a person of the tenant the path
// names.
func (p *Platform) signedIn(adminOnly bool, next func(http.ResponseWriter, *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name, secret, ok := r.BasicAuth()
		pr, err := p.people.Authenticate(r.Context(), name, secret)
		if !ok || err != nil {
			w.Header().Set("WWW-Authenticate", `Basic realm="platform"`)
			writeError(w, http.StatusUnauthorized, "sign in with a platform account")
			return
		}
		if !pr.Admin && (adminOnly || !slices.Contains(pr.Groups, tenantGroup(r.PathValue("tenant")))) {
			writeError(w, http.StatusForbidden, "not allowed")
			return
		}
		next(w, r)
	}
}

func (p *Platform) postTenant(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name string `json:"name"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "body: "+err.Error())
		return
	}
	t, err := p.CreateTenant(r.Context(), body.Name)
	switch {
	case errors.Is(err, accounts.ErrExists):
		writeError(w, http.StatusConflict, err.Error())
	case errors.Is(err, accounts.ErrInvalid):
		writeError(w, http.StatusBadRequest, "name: "+err.Error())
	case err != nil:
		writeError(w, http.StatusInternalServerError, err.Error())
	default:
		writeJSON(w, http.StatusCreated, t)
	}
}

func (p *Platform) postComponent(w http.ResponseWriter, r *http.Request) {
	var c Component
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&c); err != nil {
		writeError(w, http.StatusBadRequest, "body: "+err.Error())
		return
	}
	c.Tenant = r.PathValue("tenant")
	if err := p.AddComponent(r.Context(), c); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusCreated, c)
}

func (p *Platform) getDeployments(w http.ResponseWriter, r *http.Request) {
	ds, err := p.Deployments(r.Context(), r.PathValue("tenant"))
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if ds == nil {
		ds = []Deployment{}
	}
	writeJSON(w, http.StatusOK, ds)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// The platform's people are principals of the registry too.
var _ auth.Authenticator = (*People)(nil)
