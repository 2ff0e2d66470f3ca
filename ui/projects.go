package ui

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

var _ = addMessages(map[string]msg{
	"projects.title":       {"Projects", "项目"},
	"projects.search":      {"Search projects", "搜索项目"},
	"projects.name":        {"Name", "名称"},
	"projects.access":      {"Access level", "访问级别"},
	"projects.public":      {"Public", "公开"},
	"projects.private":     {"Private", "私有"},
	"projects.role":        {"My role", "我的角色"},
	"projects.repos":       {"Repositories", "镜像仓库"},
	"projects.quota":       {"Quota used", "配额使用"},
	"projects.created":     {"Created", "创建时间"},
	"projects.new":         {"New project", "新建项目"},
	"projects.limit":       {"Storage limit (GiB, empty for none)", "存储上限（GiB，留空表示不限）"},
	"projects.create":      {"Create", "创建"},
	"projects.none":        {"No project found.", "没有找到项目。"},
	"projects.made":        {"Project created.", "项目已创建。"},
	"projects.deleted":     {"Project deleted.", "项目已删除。"},
	"projects.delete":      {"Delete project", "删除项目"},
	"projects.settings":    {"Access", "访问设置"},
	"projects.saved":       {"Project saved.", "项目已保存。"},
	"projects.makePublic":  {"Make public", "设为公开"},
	"projects.makePrivate": {"Make private", "设为私有"},
	"projects.unlimited":   {"unlimited", "不限"},
	"tab.repositories":     {"Repositories", "镜像仓库"},
	"tab.members":          {"Members", "成员"},
	"tab.robots":           {"Robot accounts", "机器人账户"},
	"tab.labels":           {"Labels", "标签"},
	"tab.policies":         {"Policies", "策略"},
	"tab.webhooks":         {"Webhooks", "Webhooks"},
	"tab.logs":             {"Logs", "日志"},
	"repos.search":         {"Search repositories", "搜索镜像仓库"},
	"repos.name":           {"Name", "名称"},
	"repos.artifacts":      {"Artifacts", "制品"},
	"repos.pulls":          {"Pulls", "下载数"},
	"repos.updated":        {"Updated", "更新时间"},
	"repos.none":           {"No repository yet. Push one:", "还没有镜像仓库。推送一个："},
	"repos.deleted":        {"Repository deleted.", "镜像仓库已删除。"},
	"role.1":               {"Project admin", "项目管理员"},
	"role.2":               {"Developer", "开发者"},
	"role.3":               {"Guest", "访客"},
	"role.4":               {"Maintainer", "维护人员"},
	"role.5":               {"Limited guest", "受限访客"},
	"role.0":               {"—", "—"},
})

// projectJSON is a project as the API answers it.
type projectJSON struct {
	ProjectID    uint64 `json:"project_id"`
	Name         string `json:"name"`
	RepoCount    int    `json:"repo_count"`
	OwnerName    string `json:"owner_name"`
	CreationTime string `json:"creation_time"`
	UpdateTime   string `json:"update_time"`
	Metadata     struct {
		Public           string `json:"public"`
		AutoScan         string `json:"auto_scan"`
		PreventVul       string `json:"prevent_vul"`
		Severity         string `json:"severity"`
		PreventUnscanned string `json:"prevent_unscanned"`
	} `json:"metadata"`
	RoleID int `json:"current_user_role_id"`
}

// Public reports a public project.
func (p projectJSON) Public() bool { return p.Metadata.Public == "true" }

// quotaJSON is a project's quota as the API answers it.
type quotaJSON struct {
	Hard map[string]int64 `json:"hard"`
	Used map[string]int64 `json:"used"`
}

// rights is what the signed-in person may do in a project, for showing
// only the buttons that would work (the API decides either way).
type rights struct {
	Admin bool
	Role  int // Harbor's role id: 1 project admin, 2 developer, 3 guest, 4 maintainer, 5 limited guest
}

// Push reports pushing and labelling (developer and up).
func (r rights) Push() bool { return r.Admin || r.Role == 1 || r.Role == 2 || r.Role == 4 }

// Delete reports deleting artifacts, tags and repositories (maintainer and up).
func (r rights) Delete() bool { return r.Admin || r.Role == 1 || r.Role == 4 }

// Manage reports managing members, robots, policies and the project itself.
func (r rights) Manage() bool { return r.Admin || r.Role == 1 }

// SeeMembers reports reading the member list (all but limited guests).
func (r rights) SeeMembers() bool { return r.Admin || (r.Role >= 1 && r.Role <= 4) }

// projectView is what every page of a project shows above its tab.
type projectView struct {
	Project projectJSON
	Can     rights
	Tab     string
	Quota   *quotaJSON
}

func (h *Handler) projectRoutes() []route {
	return []route{
		{"GET /projects", h.page("projects", h.projectsPage)},
		{"POST /projects", h.action(h.createProject)},
		{"GET /projects/{project}", h.page("projects", h.repositoriesPage)},
		{"POST /projects/{project}/access", h.action(h.setProjectAccess)},
		{"POST /projects/{project}/delete", h.action(h.deleteProject)},
		{"POST /projects/{project}/repository/delete", h.action(h.deleteRepository)},
	}
}

// projectsRow is a row of the projects page.
type projectsRow struct {
	projectJSON
	Quota *quotaJSON
}

// projectsPage is GET /projects?q=&page=: the projects the person sees,
// with their quota use, and the form to create one.
func (h *Handler) projectsPage(_ http.ResponseWriter, r *http.Request, v *view) (string, error) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	var list []projectJSON
	a, err := h.api.do(r, call{method: http.MethodGet, path: "/projects", query: listQuery(r, url.Values{"name": {q}})}, &list)
	if err != nil {
		return "", err
	}
	rows := make([]projectsRow, 0, len(list))
	for _, p := range list {
		row := projectsRow{projectJSON: p}
		row.Quota = h.quotaOf(r, p.Name)
		rows = append(rows, row)
	}
	v.Title = v.L.T("projects.title")
	v.Data = map[string]any{"Rows": rows, "Q": q, "Pager": newPager(r, a.total())}
	return "projects", nil
}

// quotaOf returns a project's quota (from its summary, which its members
// may read), or nil when there is none to show.
func (h *Handler) quotaOf(r *http.Request, project string) *quotaJSON {
	var s struct {
		Quota *quotaJSON `json:"quota"`
	}
	if _, err := h.api.do(r, call{method: http.MethodGet, path: "/projects/" + url.PathEscape(project) + "/summary"}, &s); err != nil {
		return nil
	}
	return s.Quota
}

// createProject is POST /projects: name, public, storage_limit in GiB.
func (h *Handler) createProject(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	public := r.PostFormValue("public") == "on"
	body := map[string]any{"project_name": name, "public": public}
	if s := strings.TrimSpace(r.PostFormValue("storage_limit")); s != "" {
		gib, err := strconv.ParseFloat(s, 64)
		if err != nil || gib <= 0 {
			return "", "", &APIError{Status: http.StatusBadRequest, Message: localeOf(r).T("projects.limit") + ": " + s}
		}
		body["storage_limit"] = int64(gib * (1 << 30))
	}
	if _, err := h.api.do(r, call{method: http.MethodPost, path: "/projects", body: body}, nil); err != nil {
		return "", "", err
	}
	return "/projects/" + url.PathEscape(name), "projects.made", nil
}

// project reads a project and what the person may do in it.
func (h *Handler) project(r *http.Request, v *view, tab string) (*projectView, error) {
	name := r.PathValue("project")
	var p projectJSON
	if _, err := h.api.do(r, call{method: http.MethodGet, path: "/projects/" + url.PathEscape(name)}, &p); err != nil {
		return nil, err
	}
	v.Title = p.Name
	return &projectView{Project: p, Can: rights{Admin: v.User != nil && v.User.Admin, Role: p.RoleID}, Tab: tab}, nil
}

// repositoryRow is a repository as the API answers it.
type repositoryRow struct {
	Name          string `json:"name"`
	Description   string `json:"description"`
	ArtifactCount int    `json:"artifact_count"`
	PullCount     int64  `json:"pull_count"`
	CreationTime  string `json:"creation_time"`
	UpdateTime    string `json:"update_time"`
}

// repositoriesPage is GET /projects/{project}?q=&sort=&page=: the
// project's repositories.
func (h *Handler) repositoriesPage(_ http.ResponseWriter, r *http.Request, v *view) (string, error) {
	pv, err := h.project(r, v, "repositories")
	if err != nil {
		return "", err
	}
	pv.Quota = h.quotaOf(r, pv.Project.Name)
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	extra := url.Values{"sort": {r.URL.Query().Get("sort")}}
	if q != "" {
		extra.Set("q", "name=~"+q)
	}
	var list []repositoryRow
	a, err := h.api.do(r, call{method: http.MethodGet, path: "/projects/" + url.PathEscape(pv.Project.Name) + "/repositories", query: listQuery(r, extra)}, &list)
	if err != nil {
		return "", err
	}
	v.Data = map[string]any{"P": pv, "Rows": list, "Q": q, "Pager": newPager(r, a.total()),
		"Sort": sortLinks(r, "name", "update_time", "pull_count"), "PullHost": h.pullHostOf(r)}
	return "repositories", nil
}

// pullHostOf is the registry host of pull commands.
func (h *Handler) pullHostOf(r *http.Request) string {
	if h.pullHost != "" {
		return h.pullHost
	}
	return hostOf(r)
}

// setProjectAccess is POST /projects/{project}/access: public=true|false.
func (h *Handler) setProjectAccess(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	name := r.PathValue("project")
	public := r.PostFormValue("public") == "true"
	body := map[string]any{"metadata": map[string]string{"public": strconv.FormatBool(public)}}
	if _, err := h.api.do(r, call{method: http.MethodPut, path: "/projects/" + url.PathEscape(name), body: body}, nil); err != nil {
		return "", "", err
	}
	return "/projects/" + url.PathEscape(name), "projects.saved", nil
}

// deleteProject is POST /projects/{project}/delete.
func (h *Handler) deleteProject(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	name := r.PathValue("project")
	if _, err := h.api.do(r, call{method: http.MethodDelete, path: "/projects/" + url.PathEscape(name)}, nil); err != nil {
		return "", "", err
	}
	return "/projects", "projects.deleted", nil
}

// deleteRepository is POST /projects/{project}/repository/delete with
// the repository's name within the project.
func (h *Handler) deleteRepository(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	project := r.PathValue("project")
	if _, err := h.api.do(r, call{method: http.MethodDelete, path: repoAPIPath(project, r.PostFormValue("name"))}, nil); err != nil {
		return "", "", err
	}
	return "/projects/" + url.PathEscape(project), "repos.deleted", nil
}

// repoAPIPath is the API's path of a repository (its name within the
// project), encoded twice as Harbor's API wants a name with slashes.
func repoAPIPath(project, name string) string {
	return "/projects/" + url.PathEscape(project) + "/repositories/" + url.PathEscape(url.PathEscape(name))
}
