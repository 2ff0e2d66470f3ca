package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/auth/rbac"
)

// projectJSON is Harbor's Project, for the fields Berth keeps. Berth
// addresses projects by name, so there is no project_id.
type projectJSON struct {
	Name              string          `json:"name"`
	OwnerName         string          `json:"owner_name,omitempty"`
	CreationTime      time.Time       `json:"creation_time"`
	UpdateTime        time.Time       `json:"update_time"`
	Metadata          projectMetadata `json:"metadata"`
	CVEAllowlist      *cveAllowlist   `json:"cve_allowlist,omitempty"`
	CurrentUserRoleID int             `json:"current_user_role_id,omitempty"`
}

// projectMetadata is Harbor's ProjectMetadata (strings "true"/"false"),
// with Berth's prevent_unscanned.
type projectMetadata struct {
	Public           string `json:"public"`
	AutoScan         string `json:"auto_scan,omitempty"`
	PreventVul       string `json:"prevent_vul,omitempty"`
	Severity         string `json:"severity,omitempty"`
	PreventUnscanned string `json:"prevent_unscanned,omitempty"`
	// ReuseSysCVEAllowlist is accepted; Berth has no system allowlist.
	ReuseSysCVEAllowlist string `json:"reuse_sys_cve_allowlist,omitempty"`
}

// projectReq is Harbor's ProjectReq, for creation and update.
type projectReq struct {
	ProjectName  string           `json:"project_name"`
	Public       *bool            `json:"public"`
	Metadata     *projectMetadata `json:"metadata"`
	CVEAllowlist *cveAllowlist    `json:"cve_allowlist"`
	// StorageLimit is the project's storage limit in bytes (-1: none);
	// only a system administrator's is applied, as in Harbor.
	StorageLimit *int64 `json:"storage_limit"`
	RegistryID   *int64 `json:"registry_id"` // accepted for proxy-cache projects; must be absent or 0
}

// public reads the public flag from either form; unset is nil.
func (r projectReq) public() (*bool, error) {
	if r.Metadata != nil && r.Metadata.Public != "" {
		b, err := strconv.ParseBool(r.Metadata.Public)
		if err != nil {
			return nil, badRequest("metadata.public: %q is not \"true\" or \"false\"", r.Metadata.Public)
		}
		return &b, nil
	}
	return r.Public, nil
}

// storageLimit is the storage limit the request sets: nil when it sets
// none, or when p is not a system administrator (Harbor ignores theirs).
func (r projectReq) storageLimit(p auth.Principal) (*int64, error) {
	if r.StorageLimit == nil || !p.Admin {
		return nil, nil
	}
	return r.StorageLimit, checkStorageLimit("storage_limit", *r.StorageLimit)
}

// roleIDs are Harbor's role ids.
var roleIDs = map[rbac.Role]int{
	rbac.ProjectAdmin: 1, rbac.Developer: 2, rbac.Guest: 3, rbac.Maintainer: 4, rbac.LimitedGuest: 5,
}

func roleByID(id int) (rbac.Role, bool) {
	for r, n := range roleIDs {
		if n == id {
			return r, true
		}
	}
	return "", false
}

func toProjectJSON(proj accounts.Project, p auth.Principal) projectJSON {
	return projectJSON{
		Name: proj.Name, OwnerName: proj.CreatedBy, CreationTime: proj.CreatedAt, UpdateTime: proj.UpdatedAt,
		Metadata:          scanMetadata(projectMetadata{Public: strconv.FormatBool(proj.Public)}, proj.Scan),
		CVEAllowlist:      toCVEAllowlist(proj.Scan.Allowlist),
		CurrentUserRoleID: roleIDs[accounts.RoleIn(proj, p)],
	}
}

// getProjectRecord loads a project p may see; an invisible project is 404
// like a missing one, so private names do not leak (accounts.Manager's
// GetProject).
func (h *Handler) getProjectRecord(r *http.Request, p auth.Principal, name string) (accounts.Project, error) {
	proj, err := h.m.GetProject(r.Context(), p, name)
	if err != nil {
		return proj, toAPIErrorNamed(err, "project "+name)
	}
	return proj, nil
}

// toAPIErrorNamed is toAPIError with "not found" naming the resource.
func toAPIErrorNamed(err error, what string) error {
	e := toAPIError(err)
	if e.status == http.StatusNotFound {
		return notFound("%s not found", what)
	}
	return e
}

func (h *Handler) listProjects(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	pg, err := parsePage(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	var wantPublic *bool
	if v := q.Get("public"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return badRequest("public: %q is not true or false", v)
		}
		wantPublic = &b
	}
	found, total, err := h.m.ListProjects(r.Context(), p, accounts.ProjectFilter{Name: q.Get("name"), Public: wantPublic}, pg.accounts())
	if err != nil {
		return err
	}
	list := []projectJSON{}
	for _, proj := range found {
		list = append(list, toProjectJSON(proj, p))
	}
	writeCounted(w, r, pg, list, total)
	return nil
}

func (h *Handler) headProject(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	name := r.URL.Query().Get("project_name")
	if name == "" {
		return badRequest("project_name: required")
	}
	if _, err := h.getProjectRecord(r, p, name); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) createProject(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := signedIn(p); err != nil {
		return err
	}
	if p.Kind != auth.User {
		return forbidden() // robots do not create projects
	}
	var req projectReq
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.ProjectName == "" {
		return badRequest("project_name: required")
	}
	if req.RegistryID != nil && *req.RegistryID != 0 {
		return badRequest("registry_id: proxy-cache projects are not supported")
	}
	pub, err := req.public()
	if err != nil {
		return err
	}
	change, err := req.scanChange()
	if err != nil {
		return err
	}
	limit, err := req.storageLimit(p)
	if err != nil {
		return err
	}
	if err := h.m.CreateProject(r.Context(), p, req.ProjectName, pub != nil && *pub); err != nil {
		return err
	}
	switch {
	case h.quotas == nil:
	case limit != nil:
		if _, err := h.quotas.SetLimit(r.Context(), req.ProjectName, *limit); err != nil {
			return err
		}
	default:
		// The default as it is now, for good.
		if err := h.quotas.KeepDefault(r.Context(), req.ProjectName); err != nil {
			return err
		}
	}
	if change != nil {
		if err := h.updateProjectScan(r.Context(), req.ProjectName, change); err != nil {
			return err
		}
	}
	created(w, "/projects/"+req.ProjectName)
	return nil
}

func (h *Handler) getProject(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	proj, err := h.getProjectRecord(r, p, r.PathValue("project"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toProjectJSON(proj, p))
	return nil
}

// allowedOn checks p's right to action on a project resource, after
// checking that p may see the project at all.
func (h *Handler) allowedOn(r *http.Request, p auth.Principal, project, resource, action string) (accounts.Project, error) {
	if err := signedIn(p); err != nil {
		return accounts.Project{}, err
	}
	proj, err := h.getProjectRecord(r, p, project)
	if err != nil {
		return proj, err
	}
	ok, err := h.m.Authorizer().Can(p, project, resource, action)
	if err != nil {
		return proj, err
	}
	if !ok {
		return proj, forbidden()
	}
	return proj, nil
}

func (h *Handler) updateProject(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	name := r.PathValue("project")
	if _, err := h.allowedOn(r, p, name, rbac.ResourceProject, rbac.ActionUpdate); err != nil {
		return err
	}
	var req projectReq
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.ProjectName != "" && req.ProjectName != name {
		return badRequest("project_name: projects cannot be renamed")
	}
	pub, err := req.public()
	if err != nil {
		return err
	}
	change, err := req.scanChange()
	if err != nil {
		return err
	}
	limit, err := req.storageLimit(p)
	if err != nil {
		return err
	}
	if limit != nil && h.quotas != nil {
		if _, err := h.quotas.SetLimit(r.Context(), name, *limit); err != nil {
			return err
		}
	}
	if pub != nil {
		if err := h.m.SetProjectPublic(r.Context(), name, *pub); err != nil {
			return err
		}
	}
	if change != nil {
		if err := h.updateProjectScan(r.Context(), name, change); err != nil {
			return err
		}
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) deleteProject(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	name := r.PathValue("project")
	if _, err := h.allowedOn(r, p, name, rbac.ResourceProject, rbac.ActionDelete); err != nil {
		return err
	}
	if err := h.m.DeleteProject(r.Context(), name); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
