package api

import (
	"net/http"
	"strconv"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/rbac"
	"github.com/berthreg/berth/meta"
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
	RoleID     int `json:"role_id"`
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

func toMemberJSON(mem meta.Member) memberJSON {
	t := "u"
	if mem.Kind == "group" {
		t = "g"
	}
	return memberJSON{ID: mem.ID, EntityName: mem.Name, EntityType: t, RoleID: roleIDs[rbac.Role(mem.Role)], RoleName: mem.Role}
}

func (h *Handler) listMembers(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	proj, err := h.allowedOn(r, p, r.PathValue("project"), rbac.ResourceMember, rbac.ActionRead)
	if err != nil {
		return err
	}
	pg, err := parsePage(r)
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
	start, end := pg.slice(len(list))
	pg.setHeaders(w, r, len(list))
	writeJSON(w, http.StatusOK, append([]memberJSON{}, list[start:end]...))
	return nil
}

func (h *Handler) addMember(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	name := r.PathValue("project")
	if _, err := h.allowedOn(r, p, name, rbac.ResourceMember, rbac.ActionCreate); err != nil {
		return err
	}
	var req memberReq
	if err := decode(w, r, &req); err != nil {
		return err
	}
	role, ok := roleByID(req.RoleID)
	if !ok {
		return badRequest("role_id: %d is not 1 (projectAdmin), 2 (developer), 3 (guest), 4 (maintainer) or 5 (limitedGuest)", req.RoleID)
	}
	var kind, member string
	switch {
	case req.MemberUser != nil && req.MemberGroup == nil && req.MemberUser.Username != "":
		kind, member = "user", req.MemberUser.Username
		if err := h.store.View(r.Context(), func(tx meta.Tx) error { _, err := tx.Users().Get(member); return err }); err != nil {
			return toAPIErrorNamed(err, "user "+member)
		}
	case req.MemberGroup != nil && req.MemberUser == nil && req.MemberGroup.GroupName != "":
		kind, member = "group", req.MemberGroup.GroupName
	default:
		return badRequest("member_user.username or member_group.group_name: exactly one is required")
	}
	id, err := h.m.SetMember(r.Context(), name, kind, member, role)
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/projects/"+name+"/members/"+strconv.FormatInt(id, 10))
	w.WriteHeader(http.StatusCreated)
	return nil
}

// member finds membership mid of the project.
func memberByID(proj meta.Project, mid string) (meta.Member, error) {
	id, err := strconv.ParseInt(mid, 10, 64)
	if err != nil {
		return meta.Member{}, badRequest("mid: %q is not a member id", mid)
	}
	for _, mem := range proj.Members {
		if mem.ID == id {
			return mem, nil
		}
	}
	return meta.Member{}, notFound("member %d not found", id)
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
	if _, err := h.m.SetMember(r.Context(), name, mem.Kind, mem.Name, role); err != nil {
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
	if _, err := h.m.SetMember(r.Context(), name, mem.Kind, mem.Name, ""); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
