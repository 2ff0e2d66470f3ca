package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/quota"
)

// WithQuotas serves the projects' storage quotas with q (GET and PUT
// /quotas, a project's storage_limit); WithQuotas(nil) serves none (the
// endpoints answer 501, storage_limit is ignored). Without the option,
// the Handler makes a quota service over its store, which reads and sets
// limits; usage is counted only by the store of the service the registry
// writes through, so a host that counts passes that service here.
func WithQuotas(q *quota.Service) Option {
	return func(h *Handler) { h.quotas, h.quotasSet = q, true }
}

// quotaJSON is Harbor's Quota, for the storage resource. Its id and
// ref.id are the project's id.
type quotaJSON struct {
	ID           uint64           `json:"id"`
	Ref          quotaRefJSON     `json:"ref"`
	Hard         map[string]int64 `json:"hard"`
	Used         map[string]int64 `json:"used"`
	CreationTime time.Time        `json:"creation_time"`
	UpdateTime   time.Time        `json:"update_time"`
}

// quotaRefJSON is Harbor's QuotaRefObject for a project.
type quotaRefJSON struct {
	ID        uint64 `json:"id"`
	Name      string `json:"name"`
	OwnerName string `json:"owner_name,omitempty"`
}

// quotaUpdateReq is Harbor's QuotaUpdateReq.
type quotaUpdateReq struct {
	Hard map[string]*int64 `json:"hard"`
}

func toQuotaJSON(proj accounts.Project, q quota.Quota) quotaJSON {
	updated := q.UpdatedAt
	if updated.IsZero() {
		updated = proj.CreatedAt
	}
	return quotaJSON{
		ID: proj.ID, Ref: quotaRefJSON{ID: proj.ID, Name: proj.Name, OwnerName: proj.CreatedBy},
		Hard: map[string]int64{"storage": q.Limit}, Used: map[string]int64{"storage": q.Used},
		CreationTime: proj.CreatedAt, UpdateTime: updated,
	}
}

// checkStorageLimit validates a storage limit from a request body.
func checkStorageLimit(field string, n int64) error {
	if n < quota.Unlimited {
		return badRequest("%s: %d is not -1 (unlimited) or a number of bytes", field, n)
	}
	return nil
}

// quotaProjects are the projects GET /quotas lists: all, or the one
// reference_id names (its id or its name) with reference=project.
func (h *Handler) quotaProjects(r *http.Request, p auth.Principal) ([]accounts.Project, error) {
	q := r.URL.Query()
	if ref := q.Get("reference"); ref != "" && ref != "project" {
		return nil, badRequest("reference: %q is not \"project\"", ref)
	}
	id := q.Get("reference_id")
	if id != "" {
		if _, err := strconv.ParseUint(id, 10, 64); err != nil { // a name: read that project alone
			proj, err := h.getProjectRecord(r, p, id)
			var ae *apiError
			if errors.As(err, &ae) && ae.status == http.StatusNotFound {
				return nil, nil
			}
			if err != nil {
				return nil, err
			}
			return []accounts.Project{proj}, nil
		}
	}
	all, _, err := h.m.ListProjects(r.Context(), p, accounts.ProjectFilter{}, accounts.Page{Number: 1})
	if err != nil {
		return nil, err
	}
	if id == "" {
		return all, nil
	}
	for _, proj := range all {
		if proj.Name == id || strconv.FormatUint(proj.ID, 10) == id {
			return []accounts.Project{proj}, nil
		}
	}
	return nil, nil
}

// quotaService is the quota service, after checking that p is a system
// administrator: only they see and set quotas here (a project's members
// see its own in the project summary).
func (h *Handler) quotaService(p auth.Principal) (*quota.Service, error) {
	if err := adminOnly(p); err != nil {
		return nil, err
	}
	if h.quotas == nil {
		return nil, &apiError{status: http.StatusNotImplemented, code: "NOT_IMPLEMENTED", msg: "this server keeps no quotas"}
	}
	return h.quotas, nil
}

func (h *Handler) listQuotas(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	qs, err := h.quotaService(p)
	if err != nil {
		return err
	}
	pg, err := parsePage(r)
	if err != nil {
		return err
	}
	projects, err := h.quotaProjects(r, p)
	if err != nil {
		return err
	}
	start, end := pg.slice(len(projects))
	list := make([]quotaJSON, 0, end-start)
	for _, proj := range projects[start:end] {
		q, err := qs.Get(r.Context(), proj.Name)
		if err != nil {
			return err
		}
		list = append(list, toQuotaJSON(proj, q))
	}
	writeCounted(w, r, pg, list, len(projects))
	return nil
}

// quotaProject is the project whose id (or name) is the path's {id}.
func (h *Handler) quotaProject(r *http.Request, p auth.Principal) (accounts.Project, error) {
	return h.projectByID(r, p, r.PathValue("id"), "quota")
}

func (h *Handler) getQuota(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	qs, err := h.quotaService(p)
	if err != nil {
		return err
	}
	proj, err := h.quotaProject(r, p)
	if err != nil {
		return err
	}
	q, err := qs.Get(r.Context(), proj.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toQuotaJSON(proj, q))
	return nil
}

func (h *Handler) updateQuota(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	qs, err := h.quotaService(p)
	if err != nil {
		return err
	}
	var req quotaUpdateReq
	if err := decode(w, r, &req); err != nil {
		return err
	}
	for k := range req.Hard {
		if k != "storage" {
			return badRequest("hard.%s: the only resource is storage", k)
		}
	}
	limit := req.Hard["storage"]
	if limit == nil {
		return badRequest("hard.storage: required")
	}
	if err := checkStorageLimit("hard.storage", *limit); err != nil {
		return err
	}
	proj, err := h.quotaProject(r, p)
	if err != nil {
		return err
	}
	if _, err := qs.SetLimit(r.Context(), proj.Name, *limit); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
