package api

import (
	"net/http"
	"slices"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/auth/rbac"
)

// robotAccess is Harbor's Access, plus Pattern, Berth's extension: the
// repositories of the namespace the access covers (default: all of them,
// "<namespace>/**").
type robotAccess struct {
	Resource string `json:"resource"`
	Action   string `json:"action"`
	Effect   string `json:"effect,omitempty"`
	Pattern  string `json:"pattern,omitempty"`
}

// robotPermission is Harbor's RobotPermission.
type robotPermission struct {
	Kind      string        `json:"kind"`
	Namespace string        `json:"namespace"`
	Access    []robotAccess `json:"access"`
}

// robotCreate is Harbor's RobotCreate, plus ExpiresAt (RFC 3339), Berth's
// extension for an exact expiry instead of Duration in days.
type robotCreate struct {
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Level       string            `json:"level"`
	Duration    *int              `json:"duration"`
	ExpiresAt   *time.Time        `json:"expires_at"`
	Disable     bool              `json:"disable"`
	Permissions []robotPermission `json:"permissions"`
	Secret      string            `json:"secret"` // Harbor lets a caller choose it; refused here
}

// robotJSON is Harbor's Robot.
type robotJSON struct {
	Name         string            `json:"name"`
	Description  string            `json:"description,omitempty"`
	Level        string            `json:"level"`
	Disable      bool              `json:"disable"`
	ExpiresAt    int64             `json:"expires_at"` // unix seconds, -1 never
	CreationTime time.Time         `json:"creation_time"`
	UpdateTime   time.Time         `json:"update_time"`
	Permissions  []robotPermission `json:"permissions"`
}

// accessGrant maps a Harbor access to the resource and action of a grant
// ("" resource for repositories); Harbor's "list" is Berth's "read".
func accessGrant(a robotAccess) (resource, action string, ok bool) {
	switch {
	case a.Resource == "repository" && (a.Action == auth.ActionPull || a.Action == auth.ActionPush):
		return "", a.Action, true
	case (a.Resource == "repository" || a.Resource == "artifact" || a.Resource == "tag") && a.Action == "delete":
		return "", auth.ActionDelete, true
	case slices.Contains(rbac.ProjectResources, a.Resource) && a.Pattern == "":
		action = a.Action
		if action == "list" {
			action = rbac.ActionRead
		}
		return a.Resource, action, slices.Contains(rbac.ResourceActions, action)
	}
	return "", "", false
}

// grantsOf turns Harbor permissions into grants, one per namespace,
// resource and pattern. Namespace "*" is every project (system robots).
func grantsOf(perms []robotPermission) ([]accounts.Grant, error) {
	var out []accounts.Grant
	for i, p := range perms {
		if p.Kind != "project" {
			return nil, badRequest("permissions[%d].kind: %q is not supported (only \"project\")", i, p.Kind)
		}
		if p.Namespace == "" {
			return nil, badRequest("permissions[%d].namespace: a project name (or \"*\") is required", i)
		}
		for j, a := range p.Access {
			res, act, ok := accessGrant(a)
			if !ok || (a.Effect != "" && a.Effect != "allow") {
				return nil, badRequest("permissions[%d].access[%d]: %s %s (effect %q) is not supported", i, j, a.Resource, a.Action, a.Effect)
			}
			pattern := a.Pattern
			if pattern == "" && res == "" {
				pattern = p.Namespace + "/**"
				if p.Namespace == "*" {
					pattern = "**"
				}
			}
			k := slices.IndexFunc(out, func(g accounts.Grant) bool {
				return g.Project == p.Namespace && g.Resource == res && g.Pattern == pattern
			})
			if k < 0 {
				out = append(out, accounts.Grant{Project: p.Namespace, Resource: res, Pattern: pattern})
				k = len(out) - 1
			}
			if !slices.Contains(out[k].Actions, act) {
				out[k].Actions = append(out[k].Actions, act)
			}
		}
	}
	return out, nil
}

func toRobotJSON(r accounts.Robot) robotJSON {
	out := robotJSON{Name: r.Name, Description: r.Description, Level: "project", Disable: r.Disabled,
		ExpiresAt: -1, CreationTime: r.CreatedAt, UpdateTime: r.UpdatedAt, Permissions: []robotPermission{}}
	if r.Project == "" {
		out.Level = "system"
	}
	if !r.ExpiresAt.IsZero() {
		out.ExpiresAt = r.ExpiresAt.Unix()
	}
	for _, g := range r.Grants {
		k := slices.IndexFunc(out.Permissions, func(p robotPermission) bool { return p.Namespace == g.Project })
		if k < 0 {
			out.Permissions = append(out.Permissions, robotPermission{Kind: "project", Namespace: g.Project})
			k = len(out.Permissions) - 1
		}
		res := g.Resource
		if res == "" {
			res = "repository"
		}
		for _, a := range g.Actions {
			out.Permissions[k].Access = append(out.Permissions[k].Access, robotAccess{Resource: res, Action: a, Pattern: g.Pattern})
		}
	}
	return out
}

func (h *Handler) createRobot(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := signedIn(p); err != nil {
		return err
	}
	var req robotCreate
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Secret != "" {
		return badRequest("secret: secrets are generated, not chosen")
	}
	grants, err := grantsOf(req.Permissions)
	if err != nil {
		return err
	}
	spec := accounts.RobotSpec{Name: req.Name, Description: req.Description, Grants: grants, Disabled: req.Disable}
	switch req.Level {
	case "system":
	case "project":
		if len(req.Permissions) != 1 {
			return badRequest("permissions: a project robot has exactly one project")
		}
		if req.Permissions[0].Namespace == "*" {
			return badRequest("permissions[0].namespace: a project robot's namespace is one project, not \"*\"")
		}
		spec.Project = req.Permissions[0].Namespace
	default:
		return badRequest("level: %q is not \"project\" or \"system\"", req.Level)
	}
	switch {
	case req.ExpiresAt != nil && req.Duration != nil:
		return badRequest("duration, expires_at: set one")
	case req.ExpiresAt != nil:
		spec.ExpiresAt = *req.ExpiresAt
	case req.Duration != nil && *req.Duration > 0:
		spec.ExpiresAt = time.Now().Add(time.Duration(*req.Duration) * 24 * time.Hour)
	case req.Duration != nil && *req.Duration != -1:
		return badRequest("duration: %d is not a number of days or -1 (never)", *req.Duration)
	}
	if spec.Project != "" {
		if _, err := h.getProjectRecord(r, p, spec.Project); err != nil {
			return err
		}
	}
	rec, secret, err := h.m.CreateRobotRecord(r.Context(), p, spec)
	if err != nil {
		return err
	}
	name := rec.Name
	w.Header().Set("Location", Prefix+"/robots/"+name)
	writeJSON(w, http.StatusCreated, map[string]any{
		"name": name, "secret": secret, "creation_time": rec.CreatedAt, "expires_at": toRobotJSON(rec).ExpiresAt,
	})
	return nil
}

// robotFor loads the request's robot if p may read it (one p may not
// read is 404); whether p may change it is the accounts.Manager's to say.
func (h *Handler) robotFor(r *http.Request, p auth.Principal) (accounts.Robot, error) {
	if err := signedIn(p); err != nil {
		return accounts.Robot{}, err
	}
	name := r.PathValue("robot")
	rec, err := h.m.GetRobot(r.Context(), p, name)
	if err != nil {
		return rec, toAPIErrorNamed(err, "robot "+name)
	}
	return rec, nil
}

func (h *Handler) listRobots(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := signedIn(p); err != nil {
		return err
	}
	pg, err := parsePage(r)
	if err != nil {
		return err
	}
	found, total, err := h.m.ListRobots(r.Context(), p, pg.accounts())
	if err != nil {
		return err
	}
	list := []robotJSON{}
	for _, rec := range found {
		list = append(list, toRobotJSON(rec))
	}
	writeCounted(w, r, pg, list, total)
	return nil
}

func (h *Handler) getRobot(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	rec, err := h.robotFor(r, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toRobotJSON(rec))
	return nil
}

// refreshSecret is PATCH /robots/{robot}: Harbor's secret refresh. The new
// secret is generated and shown once.
func (h *Handler) refreshSecret(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	rec, err := h.robotFor(r, p)
	if err != nil {
		return err
	}
	var req struct {
		Secret string `json:"secret"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Secret != "" {
		return badRequest("secret: secrets are generated, not chosen")
	}
	secret, err := h.m.RotateRobotSecret(r.Context(), p, rec.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"secret": secret})
	return nil
}

// updateRobot is PUT /robots/{robot}: only the disable flag changes (a
// body naming permissions or anything else is refused), so an update never
// widens a robot.
func (h *Handler) updateRobot(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	rec, err := h.robotFor(r, p)
	if err != nil {
		return err
	}
	var req struct {
		Disable bool `json:"disable"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := h.m.SetRobotDisabled(r.Context(), p, rec.Name, req.Disable); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) deleteRobot(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	rec, err := h.robotFor(r, p)
	if err != nil {
		return err
	}
	if err := h.m.DeleteRobot(r.Context(), p, rec.Name); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
