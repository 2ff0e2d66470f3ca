package api

import (
	"net/http"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/rbac"
	"github.com/berthreg/berth/proxy"
)

// WithProxy serves the projects' pull-through cache settings with s
// (/projects/{project}/proxy). Without it those endpoints answer 501.
func WithProxy(s *proxy.Service) Option { return func(h *Handler) { h.proxy = s } }

// proxyJSON makes a project a pull-through cache: the registry endpoints
// it caches (by name, tried in order) and how long a cached tag is served
// before it is revalidated.
type proxyJSON struct {
	Registries []string  `json:"registries"`
	TTLSeconds int64     `json:"ttl_seconds,omitempty"`
	UpdatedAt  time.Time `json:"update_time,omitzero"`
}

func (h *Handler) proxyFor(r *http.Request, p auth.Principal, action string) (*proxy.Service, string, error) {
	project := r.PathValue("project")
	if _, err := h.allowedOn(r, p, project, rbac.ResourceProject, action); err != nil {
		return nil, project, err
	}
	if h.proxy == nil {
		return nil, project, &apiError{status: http.StatusNotImplemented, code: "NOT_IMPLEMENTED", msg: "this server keeps no proxy caches"}
	}
	return h.proxy, project, nil
}

func (h *Handler) getProxy(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	svc, project, err := h.proxyFor(r, p, rbac.ActionRead)
	if err != nil {
		return err
	}
	st, err := svc.Settings(r.Context(), project)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, proxyJSON{Registries: st.Upstreams, TTLSeconds: int64(st.TTL / time.Second), UpdatedAt: st.UpdatedAt})
	return nil
}

// setProxy makes a project a cache: a system administrator's, as the
// registry endpoints it fetches from are.
func (h *Handler) setProxy(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	svc, project, err := h.proxyFor(r, p, rbac.ActionUpdate)
	if err != nil {
		return err
	}
	if !p.Admin {
		return forbidden()
	}
	var req proxyJSON
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.TTLSeconds < 0 {
		return badRequest("ttl_seconds: must not be negative")
	}
	_, err = svc.SetSettings(r.Context(), proxy.Settings{Project: project, Upstreams: req.Registries, TTL: time.Duration(req.TTLSeconds) * time.Second})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
