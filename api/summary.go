package api

import (
	"net/http"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/auth/rbac"
)

// projectSummaryJSON is Harbor's ProjectSummary: what a project's page
// shows at its top.
type projectSummaryJSON struct {
	RepoCount int        `json:"repo_count"`
	Quota     *quotaJSON `json:"quota,omitempty"`
}

// projectSummary is GET /projects/{project}/summary (Harbor's): the
// repository count and the storage quota, to anyone who may read the
// project (its members see their own quota here, not at /quotas).
func (h *Handler) projectSummary(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	proj, err := h.allowedOn(r, p, r.PathValue("project"), rbac.ResourceProject, rbac.ActionRead)
	if err != nil {
		return err
	}
	counts, err := h.content.RepositoryCounts(r.Context(), p, []accounts.Project{proj})
	if err != nil {
		return err
	}
	out := projectSummaryJSON{RepoCount: counts[proj.Name]}
	if h.quotas != nil {
		q, err := h.quotas.Get(r.Context(), proj.Name)
		if err != nil {
			return err
		}
		qj := toQuotaJSON(proj, q)
		out.Quota = &qj
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
