package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/auth/rbac"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/proxy"
)

// projectJSON is Harbor's Project, for the fields Berth keeps. Berth
// addresses projects by name; project_id is the project's id (the
// sequence number of its creation).
type projectJSON struct {
	ProjectID         uint64          `json:"project_id"`
	Name              string          `json:"name"`
	RepoCount         *int            `json:"repo_count,omitempty"`
	OwnerName         string          `json:"owner_name,omitempty"`
	CreationTime      time.Time       `json:"creation_time"`
	UpdateTime        time.Time       `json:"update_time"`
	Metadata          projectMetadata `json:"metadata"`
	CVEAllowlist      *cveAllowlist   `json:"cve_allowlist,omitempty"`
	CurrentUserRoleID int             `json:"current_user_role_id,omitempty"`
	// RegistryID is the endpoint a proxy cache project caches (its
	// first upstream).
	RegistryID int64 `json:"registry_id,omitempty"`
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
	// RegistryID makes the project a proxy cache of that registry
	// endpoint (a system administrator's request only, as in Harbor).
	RegistryID *int64 `json:"registry_id"`
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
		ProjectID: proj.ID, Name: proj.Name, OwnerName: proj.CreatedBy, CreationTime: proj.CreatedAt, UpdateTime: proj.UpdatedAt,
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
	counts, err := h.content.RepositoryCounts(r.Context(), p, found)
	if err != nil {
		return err
	}
	list := []projectJSON{}
	for _, proj := range found {
		out := toProjectJSON(proj, p)
		n := counts[proj.Name]
		out.RepoCount = &n
		list = append(list, out)
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
	upstream, err := h.proxyUpstream(r, p, req.RegistryID)
	if err != nil {
		return err
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
	if upstream != "" {
		if _, err := h.proxy.SetSettings(r.Context(), proxy.Settings{Project: req.ProjectName, Upstreams: []string{upstream}}); err != nil {
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
	out := toProjectJSON(proj, p)
	if out.RegistryID, err = h.cachedRegistryID(r, proj.Name); err != nil {
		return err
	}
	counts, err := h.content.RepositoryCounts(r.Context(), p, []accounts.Project{proj})
	if err != nil {
		return err
	}
	n := counts[proj.Name]
	out.RepoCount = &n
	writeJSON(w, http.StatusOK, out)
	return nil
}

// proxyUpstream is the registry endpoint a project creation's
// registry_id names ("" for none: absent or 0): a system
// administrator's request only, on a server with proxy caches and
// replication's endpoints.
func (h *Handler) proxyUpstream(r *http.Request, p auth.Principal, id *int64) (string, error) {
	if id == nil || *id == 0 {
		return "", nil
	}
	switch {
	case !p.Admin:
		return "", &apiError{status: http.StatusForbidden, code: codeForbidden, msg: "registry_id: only a system administrator creates proxy cache projects"}
	case h.proxy == nil || h.replication == nil:
		return "", badRequest("registry_id: this server keeps no proxy caches")
	case *id < 0:
		return "", badRequest("registry_id: %d is not an endpoint id", *id)
	}
	rec, err := h.replication.RegistryByID(r.Context(), *id)
	if errors.Is(err, meta.ErrNotFound) {
		return "", badRequest("registry_id: no registry endpoint %d", *id)
	}
	return rec.Name, err
}

// cachedRegistryID is the id of the endpoint project caches first (0
// when it is no cache).
func (h *Handler) cachedRegistryID(r *http.Request, project string) (int64, error) {
	if h.proxy == nil || h.replication == nil {
		return 0, nil
	}
	st, err := h.proxy.Settings(r.Context(), project)
	if errors.Is(err, proxy.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	rec, err := h.replication.Registry(r.Context(), st.Upstreams[0])
	if errors.Is(err, meta.ErrNotFound) {
		return 0, nil
	}
	return rec.ID, err
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
