package api

import (
	"net/http"
	"strconv"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/auth/rbac"
)

// memberJSON is Harbor's ProjectMemberEntity.
type memberJSON struct {
	ID         int64  `json:"id"`
	EntityName string `json:"entity_name"`
	EntityType string `json:"entity_type"` // "u" or "g"
	RoleID     int    `json:"role_id"`
	RoleName   string `json:"role_name"`
}

// memberReq is Harbor's ProjectMember.
type memberReq struct {
	RoleID int `json:"role_id"`
	memberRef
}

// memberRef names a user or a group, Harbor's way.
type memberRef struct {
	MemberUser *struct {
		Username string `json:"username"`
		UserID   int64  `json:"user_id"`
	} `json:"member_user"`
	MemberGroup *struct {
		GroupName string `json:"group_name"`
		GroupType int    `json:"group_type"`
		ID        int64  `json:"id"`
	} `json:"member_group"`
}

// subject returns the kind ("user" or "group") and name ref names. Whether
// a user must have an account is the accounts.Manager's to say: only for a
// system administrator, so that member adds do not tell others which user
// names exist.
func subject(ref memberRef) (string, string, error) {
	switch {
	case ref.MemberUser != nil && ref.MemberGroup == nil && ref.MemberUser.Username != "":
		return "user", ref.MemberUser.Username, nil
	case ref.MemberGroup != nil && ref.MemberUser == nil && ref.MemberGroup.GroupName != "":
		return "group", ref.MemberGroup.GroupName, nil
	}
	return "", "", badRequest("member_user.username or member_group.group_name: exactly one is required")
}

// entityType is Harbor's entity_type of a member kind.
func entityType(kind string) string {
	if kind == "group" {
		return "g"
	}
	return "u"
}

func toMemberJSON(mem accounts.Member) memberJSON {
	return memberJSON{ID: mem.ID, EntityName: mem.Name, EntityType: entityType(mem.Kind), RoleID: roleIDs[rbac.Role(mem.Role)], RoleName: mem.Role}
}

// membersPage loads the request's project if p may read its members
// (and grants), and the page asked for.
func (h *Handler) membersPage(r *http.Request, p auth.Principal) (accounts.Project, page, error) {
	proj, err := h.allowedOn(r, p, r.PathValue("project"), rbac.ResourceMember, rbac.ActionRead)
	if err != nil {
		return proj, page{}, err
	}
	pg, err := parsePage(r)
	return proj, pg, err
}

func (h *Handler) listMembers(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	proj, pg, err := h.membersPage(r, p)
	if err != nil {
		return err
	}
	entity := r.URL.Query().Get("entityname")
	var list []memberJSON
	for _, mem := range proj.Members {
		if entity == "" || mem.Name == entity {
			list = append(list, toMemberJSON(mem))
		}
	}
	writePage(w, r, pg, list)
	return nil
}

// addition checks p's right to add members (and grants) to the request's
// project, decodes the body into req and names who it is about.
func (h *Handler) addition(w http.ResponseWriter, r *http.Request, p auth.Principal, req any, ref *memberRef) (project, kind, name string, err error) {
	project = r.PathValue("project")
	if _, err = h.allowedOn(r, p, project, rbac.ResourceMember, rbac.ActionCreate); err != nil {
		return
	}
	if err = decode(w, r, req); err != nil {
		return
	}
	kind, name, err = subject(*ref)
	return
}

func (h *Handler) addMember(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var req memberReq
	name, kind, member, err := h.addition(w, r, p, &req, &req.memberRef)
	if err != nil {
		return err
	}
	role, ok := roleByID(req.RoleID)
	if !ok {
		return badRequest("role_id: %d is not 1 (projectAdmin), 2 (developer), 3 (guest), 4 (maintainer) or 5 (limitedGuest)", req.RoleID)
	}
	id, err := h.m.AddMember(r.Context(), p, name, kind, member, role)
	if err != nil {
		return toAPIErrorNamed(err, kind+" "+member) // the project was found above
	}
	created(w, "/projects/"+name+"/members/"+strconv.FormatInt(id, 10))
	return nil
}

// member finds membership mid of the project.
func memberByID(proj accounts.Project, mid string) (accounts.Member, error) {
	id, err := strconv.ParseInt(mid, 10, 64)
	if err != nil {
		return accounts.Member{}, badRequest("mid: %q is not a member id", mid)
	}
	for _, mem := range proj.Members {
		if mem.ID == id {
			return mem, nil
		}
	}
	return accounts.Member{}, notFound("member %d not found", id)
}

func (h *Handler) updateMember(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	name := r.PathValue("project")
	proj, err := h.allowedOn(r, p, name, rbac.ResourceMember, rbac.ActionUpdate)
	if err != nil {
		return err
	}
	mem, err := memberByID(proj, r.PathValue("mid"))
	if err != nil {
		return err
	}
	var req struct {
		RoleID int `json:"role_id"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	role, ok := roleByID(req.RoleID)
	if !ok {
		return badRequest("role_id: %d is not a role", req.RoleID)
	}
	if err := h.m.UpdateMember(r.Context(), p, name, mem.Kind, mem.Name, role); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) deleteMember(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	name := r.PathValue("project")
	proj, err := h.allowedOn(r, p, name, rbac.ResourceMember, rbac.ActionDelete)
	if err != nil {
		return err
	}
	mem, err := memberByID(proj, r.PathValue("mid"))
	if err != nil {
		return err
	}
	if err := h.m.RemoveMember(r.Context(), p, name, mem.Kind, mem.Name); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
