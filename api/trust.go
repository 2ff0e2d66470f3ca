package api

import (
	"net/http"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/rbac"
	"github.com/berthreg/berth/trust"
)

// WithTrust serves the projects' content trust settings with s
// (/projects/{project}/trust). Without it those endpoints answer 501.
func WithTrust(s *trust.Service) Option { return func(h *Handler) { h.trust = s } }

// trustJSON is a project's content trust settings: whether pulls need a
// cosign signature, the PEM public keys one may verify with, and the
// keyless identities one may come from.
type trustJSON struct {
	Enabled    bool           `json:"enabled"`
	Keys       []string       `json:"keys"`
	Identities []identityJSON `json:"identities"`
	UpdatedAt  time.Time      `json:"update_time,omitzero"`
}

// identityJSON is a keyless signer: an OIDC issuer, and the certificate
// subject exactly or an expression it must match whole.
type identityJSON struct {
	Issuer        string `json:"issuer"`
	Subject       string `json:"subject,omitempty"`
	SubjectRegExp string `json:"subject_regexp,omitempty"`
}

func (h *Handler) trustFor(r *http.Request, p auth.Principal, action string) (*trust.Service, string, error) {
	project := r.PathValue("project")
	if _, err := h.allowedOn(r, p, project, rbac.ResourceProject, action); err != nil {
		return nil, project, err
	}
	if h.trust == nil {
		return nil, project, &apiError{status: http.StatusNotImplemented, code: "NOT_IMPLEMENTED", msg: "this server keeps no content trust settings"}
	}
	return h.trust, project, nil
}

func (h *Handler) getTrust(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	svc, project, err := h.trustFor(r, p, rbac.ActionRead)
	if err != nil {
		return err
	}
	st, err := svc.Settings(r.Context(), project)
	if err != nil {
		return err
	}
	out := trustJSON{Enabled: st.Enabled, Keys: st.Keys, Identities: []identityJSON{}, UpdatedAt: st.UpdatedAt}
	if out.Keys == nil {
		out.Keys = []string{}
	}
	for _, id := range st.Identities {
		out.Identities = append(out.Identities, identityJSON(id))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) setTrust(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	svc, project, err := h.trustFor(r, p, rbac.ActionUpdate)
	if err != nil {
		return err
	}
	var req trustJSON
	if err := decode(w, r, &req); err != nil {
		return err
	}
	st := trust.Settings{Project: project, Enabled: req.Enabled, Keys: req.Keys}
	for _, id := range req.Identities {
		st.Identities = append(st.Identities, trust.Identity(id))
	}
	if _, err := svc.SetSettings(r.Context(), st); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
