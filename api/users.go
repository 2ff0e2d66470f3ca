package api

import (
	"net/http"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
)

// userJSON is Harbor's UserResp, for the fields Berth keeps; users are
// addressed by name.
type userJSON struct {
	Username     string    `json:"username"`
	Email        string    `json:"email,omitempty"`
	Realname     string    `json:"realname,omitempty"`
	SysadminFlag bool      `json:"sysadmin_flag"`
	CreationTime time.Time `json:"creation_time"`
	UpdateTime   time.Time `json:"update_time"`
	// OIDCUserMeta is Harbor's OIDC user info, for OIDC accounts: the
	// subject and (Berth) the groups of the last sign-in; the CLI secret
	// is stored hashed and never shown again.
	OIDCUserMeta *oidcUserMeta `json:"oidc_user_meta,omitempty"`
}

type oidcUserMeta struct {
	Subject string   `json:"subject"`
	Groups  []string `json:"groups"`
}

func toUserJSON(u accounts.User) userJSON {
	out := userJSON{Username: u.Name, Email: u.Email, Realname: u.FullName, SysadminFlag: u.Admin, CreationTime: u.CreatedAt, UpdateTime: u.UpdatedAt}
	if u.Source == accounts.SourceOIDC {
		out.OIDCUserMeta = &oidcUserMeta{Subject: u.Subject, Groups: append([]string{}, u.Groups...)}
	}
	return out
}

// selfOrAdmin refuses everyone but user account name itself and system
// administrators.
func selfOrAdmin(p auth.Principal, name string) error {
	if err := signedIn(p); err != nil {
		return err
	}
	if !p.Admin && !(p.Kind == auth.User && p.Name == name) {
		return forbidden()
	}
	return nil
}

// adminOnly refuses everyone but a system administrator.
func adminOnly(p auth.Principal) error {
	if err := signedIn(p); err != nil {
		return err
	}
	if !p.Admin {
		return forbidden()
	}
	return nil
}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := adminOnly(p); err != nil {
		return err
	}
	var req struct {
		Username string `json:"username"`
		Email    string `json:"email"`
		Realname string `json:"realname"`
		Password string `json:"password"`
		Comment  string `json:"comment"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Username == "" || req.Password == "" {
		return badRequest("username and password: required")
	}
	u := accounts.User{Name: req.Username, Email: req.Email, FullName: req.Realname}
	if err := h.m.CreateUser(r.Context(), u, req.Password); err != nil {
		return err
	}
	created(w, "/users/"+req.Username)
	return nil
}

func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := adminOnly(p); err != nil {
		return err
	}
	pg, err := parsePage(r)
	if err != nil {
		return err
	}
	found, total, err := h.m.ListUsers(r.Context(), p, accounts.UserFilter{Name: r.URL.Query().Get("username")}, pg.accounts())
	if err != nil {
		return err
	}
	list := []userJSON{}
	for _, u := range found {
		list = append(list, toUserJSON(u))
	}
	writeCounted(w, r, pg, list, total)
	return nil
}

// userRecord loads user account name for p (an administrator, or the
// account itself).
func (h *Handler) userRecord(r *http.Request, p auth.Principal, name string) (accounts.User, error) {
	u, err := h.m.GetUser(r.Context(), p, name)
	if err != nil {
		return u, toAPIErrorNamed(err, "user "+name)
	}
	return u, nil
}

func (h *Handler) currentUser(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := signedIn(p); err != nil {
		return err
	}
	if p.Kind != auth.User {
		return notFound("robots have no user record")
	}
	u, err := h.userRecord(r, p, p.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toUserJSON(u))
	return nil
}

func (h *Handler) getUser(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	name := r.PathValue("user")
	if err := selfOrAdmin(p, name); err != nil {
		return err
	}
	u, err := h.userRecord(r, p, name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toUserJSON(u))
	return nil
}

func (h *Handler) setPassword(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	name := r.PathValue("user")
	if err := signedIn(p); err != nil {
		return err
	}
	self := p.Kind == auth.User && p.Name == name
	if !p.Admin && !self {
		return forbidden()
	}
	var req struct {
		OldPassword string `json:"old_password"`
		NewPassword string `json:"new_password"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	u, err := h.userRecord(r, p, name)
	if err != nil {
		return err
	}
	if self && !p.Admin {
		if _, err := h.m.Authenticate(r.Context(), name, req.OldPassword); err != nil {
			return badRequest("old_password: does not match")
		}
	}
	if req.NewPassword == "" {
		return badRequest("new_password: required")
	}
	if err := h.m.SetUser(r.Context(), name, req.NewPassword, u.Admin); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) setSysadmin(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := adminOnly(p); err != nil {
		return err
	}
	name := r.PathValue("user")
	var req struct {
		SysadminFlag bool `json:"sysadmin_flag"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if _, err := h.userRecord(r, p, name); err != nil {
		return err
	}
	if err := h.m.SetUser(r.Context(), name, "", req.SysadminFlag); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) deleteUser(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := adminOnly(p); err != nil {
		return err
	}
	name := r.PathValue("user")
	if p.Name == name {
		return badRequest("an administrator cannot delete their own account")
	}
	if err := h.m.DeleteUser(r.Context(), name); err != nil {
		return toAPIErrorNamed(err, "user "+name)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
