package api

import (
	"net/http"
	"strconv"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/rbac"
)

// grantJSON is a repository grant of a project (Berth's extension; Harbor
// has roles only): a user or group may perform actions on the project's
// repositories matching pattern.
type grantJSON struct {
	ID         int64    `json:"id"`
	EntityName string   `json:"entity_name"`
	EntityType string   `json:"entity_type"` // "u" or "g"
	Pattern    string   `json:"pattern"`
	Actions    []string `json:"actions"`
}

// grantReq creates or replaces a grant: the member as in Harbor's member
// requests, a pattern and actions.
type grantReq struct {
	memberRef
	Pattern string   `json:"pattern"`
	Actions []string `json:"actions"`
}

func (h *Handler) listGrants(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	proj, pg, err := h.membersPage(r, p)
	if err != nil {
		return err
	}
	list := []grantJSON{}
	for _, g := range proj.Grants {
		list = append(list, grantJSON{ID: g.ID, EntityName: g.Name, EntityType: entityType(g.Kind), Pattern: g.Pattern, Actions: g.Actions})
	}
	writePage(w, r, pg, list)
	return nil
}

// addGrant is POST /projects/{project}/grants: it creates the grant, or
// replaces the actions of the member's grant on the same pattern, within
// the caller's own rights (the accounts.Manager checks).
func (h *Handler) addGrant(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var req grantReq
	name, kind, member, err := h.addition(w, r, p, &req, &req.memberRef)
	if err != nil {
		return err
	}
	if len(req.Actions) == 0 {
		return badRequest("actions: at least one of pull, push, delete is required")
	}
	id, err := h.m.SetGrant(r.Context(), p, name, kind, member, req.Pattern, req.Actions)
	if err != nil {
		return toAPIErrorNamed(err, kind+" "+member) // the project was found above
	}
	created(w, "/projects/"+name+"/grants/"+strconv.FormatInt(id, 10))
	return nil
}

func (h *Handler) deleteGrant(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	name := r.PathValue("project")
	proj, err := h.allowedOn(r, p, name, rbac.ResourceMember, rbac.ActionDelete)
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(r.PathValue("gid"), 10, 64)
	if err != nil {
		return badRequest("gid: %q is not a grant id", r.PathValue("gid"))
	}
	for _, g := range proj.Grants {
		if g.ID == id {
			if _, err := h.m.SetGrant(r.Context(), p, name, g.Kind, g.Name, g.Pattern, nil); err != nil {
				return err
			}
			w.WriteHeader(http.StatusOK)
			return nil
		}
	}
	return notFound("grant %d not found", id)
}
