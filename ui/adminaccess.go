package ui

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

var _ = addMessages(map[string]msg{
	"access.forbidden":       {"Only system administrators may see this page.", "只有系统管理员可以查看此页面。"},
	"access.yes":             {"Yes", "是"},
	"access.no":              {"No", "否"},
	"access.created":         {"Created", "创建时间"},
	"access.name":            {"Name", "名称"},
	"access.description":     {"Description", "描述"},
	"access.status":          {"Status", "状态"},
	"access.create":          {"Create", "创建"},
	"access.users.title":     {"Users", "用户"},
	"access.users.search":    {"Find a user by exact name", "按完整用户名查找"},
	"access.users.new":       {"New user", "新建用户"},
	"access.users.username":  {"Username", "用户名"},
	"access.users.email":     {"Email", "邮箱"},
	"access.users.realname":  {"Real name", "全名"},
	"access.users.password":  {"Password", "密码"},
	"access.users.admin":     {"System administrator", "系统管理员"},
	"access.users.makeAdmin": {"Make administrator", "设为管理员"},
	"access.users.dropAdmin": {"Revoke administrator", "取消管理员"},
	"access.users.reset":     {"Reset password", "重置密码"},
	"access.users.newPass":   {"New password for %s", "%s 的新密码"},
	"access.users.none":      {"No user found.", "没有找到用户。"},
	"access.users.made":      {"User created.", "用户已创建。"},
	"access.users.saved":     {"User saved.", "用户已保存。"},
	"access.users.passSet":   {"Password changed.", "密码已修改。"},
	"access.users.deleted":   {"User deleted.", "用户已删除。"},
	"access.users.delete":    {"Delete user", "删除用户"},
	"access.users.you":       {"you", "你自己"},
	"access.robots.title":    {"System robot accounts", "系统机器人账户"},
	"access.robots.new":      {"New system robot", "新建系统机器人"},
	"access.robots.perms":    {"Permissions", "权限"},
	"access.robots.scope":    {"Projects", "项目范围"},
	"access.robots.all":      {"All projects", "所有项目"},
	"access.robots.chosen":   {"Only these projects (names separated by commas)", "仅以下项目（名称以逗号分隔）"},
	"access.robots.projects": {"Project names", "项目名称"},
	"access.robots.pull":     {"Pull", "拉取"},
	"access.robots.push":     {"Push", "推送"},
	"access.robots.days":     {"Expires after (days, -1 for never)", "过期时间（天，-1 表示永不过期）"},
	"access.robots.expires":  {"Expires", "过期时间"},
	"access.robots.never":    {"Never", "永不"},
	"access.robots.enabled":  {"Enabled", "已启用"},
	"access.robots.disabled": {"Disabled", "已禁用"},
	"access.robots.disable":  {"Disable", "禁用"},
	"access.robots.enable":   {"Enable", "启用"},
	"access.robots.none":     {"No system robot yet.", "还没有系统机器人。"},
	"access.robots.made":     {"Robot %s created. Copy its secret now: it is shown only this once.", "机器人 %s 已创建。请立即复制其密钥：它只显示这一次。"},
	"access.robots.secret":   {"Secret", "密钥"},
	"access.robots.saved":    {"Robot saved.", "机器人已保存。"},
	"access.robots.deleted":  {"Robot deleted.", "机器人已删除。"},
	"access.robots.delete":   {"Delete robot", "删除机器人"},
	"access.robots.noAction": {"Choose pull, push or both.", "请选择拉取、推送或两者。"},
	"access.config.title":    {"Configuration", "配置管理"},
	"access.config.file":     {"The server's configuration comes from its configuration file and environment; this page shows it and cannot change it.", "服务器的配置来自其配置文件和环境变量；本页面仅展示配置，无法修改。"},
	"access.config.system":   {"System", "系统"},
	"access.config.auth":     {"Authentication mode", "认证模式"},
	"access.config.oidc":     {"OIDC provider", "OIDC 提供方"},
	"access.config.url":      {"External URL", "外部 URL"},
	"access.config.storage":  {"Storage provider", "存储驱动"},
	"access.config.version":  {"Version", "版本"},
	"access.config.scanning": {"Vulnerability scanning", "漏洞扫描"},
	"access.config.on":       {"On", "开启"},
	"access.config.off":      {"Off", "关闭"},
	"access.config.selfReg":  {"Self-registration", "自助注册"},
	"access.labels.title":    {"Global labels", "全局标签"},
	"access.labels.color":    {"Color", "颜色"},
	"access.labels.none":     {"No global label yet.", "还没有全局标签。"},
	"access.labels.new":      {"New global label", "新建全局标签"},
	"access.labels.made":     {"Label created.", "标签已创建。"},
	"access.labels.deleted":  {"Label deleted.", "标签已删除。"},
	"access.labels.delete":   {"Delete label", "删除标签"},
	"access.auth.db_auth":    {"Database (local accounts)", "数据库（本地账户）"},
	"access.auth.ldap_auth":  {"LDAP", "LDAP"},
	"access.auth.oidc_auth":  {"OpenID Connect", "OpenID Connect"},
})

// adminAccessRoutes lists the pages of the administrator's users, system robots, registries, replication and configuration.
func (h *Handler) adminAccessRoutes() []route {
	out := []route{
		{"GET /admin/users", h.page("users", h.accUsersPage)},
		{"POST /admin/users", h.action(h.accCreateUser)},
		{"POST /admin/users/{user}/sysadmin", h.action(h.accSetSysadmin)},
		{"POST /admin/users/{user}/password", h.action(h.accSetPassword)},
		{"POST /admin/users/{user}/delete", h.action(h.accDeleteUser)},
		{"GET /admin/robots", h.page("robots", h.accRobotsPage)},
		{"POST /admin/robots", h.accCreateRobot},
		{"POST /admin/robots/{robot}/disable", h.action(h.accDisableRobot)},
		{"POST /admin/robots/{robot}/delete", h.action(h.accDeleteRobot)},
		{"GET /admin/config", h.page("config", h.accConfigPage)},
		{"POST /admin/config/labels", h.action(h.accCreateLabel)},
		{"POST /admin/config/labels/{id}/delete", h.action(h.accDeleteLabel)},
	}
	return append(out, h.accReplicationRoutes()...)
}

// accForbidden refuses a page to everyone but system administrators
// (for pages whose API calls a non-administrator may make).
func accForbidden(v *view) error {
	if v.User != nil && v.User.Admin {
		return nil
	}
	return &APIError{Status: http.StatusForbidden, Code: "FORBIDDEN", Message: v.L.T("access.forbidden")}
}

// accBadInput is a 400 for a form field the portal refuses itself.
func accBadInput(msg string) error {
	return &APIError{Status: http.StatusBadRequest, Code: "BAD_REQUEST", Message: msg}
}

// accUser is a user as GET /users answers it.
type accUser struct {
	Username     string `json:"username"`
	Email        string `json:"email"`
	Realname     string `json:"realname"`
	Admin        bool   `json:"sysadmin_flag"`
	CreationTime string `json:"creation_time"`
}

// accUsersPage is GET /admin/users?q=&page=: the users, searched by name.
func (h *Handler) accUsersPage(_ http.ResponseWriter, r *http.Request, v *view) (string, error) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	var list []accUser
	a, err := h.api.do(r, call{method: http.MethodGet, path: "/users", query: listQuery(r, url.Values{"username": {q}})}, &list)
	if err != nil {
		return "", err
	}
	v.Title = v.L.T("access.users.title")
	v.Data = map[string]any{"Rows": list, "Q": q, "Pager": newPager(r, a.total())}
	return "accusers", nil
}

// accCreateUser is POST /admin/users: username, email, realname, password.
func (h *Handler) accCreateUser(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	body := map[string]string{
		"username": strings.TrimSpace(r.PostFormValue("username")),
		"email":    strings.TrimSpace(r.PostFormValue("email")),
		"realname": strings.TrimSpace(r.PostFormValue("realname")),
		"password": r.PostFormValue("password"),
	}
	if _, err := h.api.do(r, call{method: http.MethodPost, path: "/users", body: body}, nil); err != nil {
		return "", "", err
	}
	return "/admin/users?q=" + url.QueryEscape(body["username"]), "access.users.made", nil
}

// accUserPath is the API's path of a user.
func accUserPath(r *http.Request) string { return "/users/" + url.PathEscape(r.PathValue("user")) }

// accSetSysadmin is POST /admin/users/{user}/sysadmin: admin=true|false.
func (h *Handler) accSetSysadmin(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	body := map[string]bool{"sysadmin_flag": r.PostFormValue("admin") == "true"}
	if _, err := h.api.do(r, call{method: http.MethodPut, path: accUserPath(r) + "/sysadmin", body: body}, nil); err != nil {
		return "", "", err
	}
	return backTo(r), "access.users.saved", nil
}

// accSetPassword is POST /admin/users/{user}/password: password (an
// administrator sets it without the old one).
func (h *Handler) accSetPassword(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	body := map[string]string{"new_password": r.PostFormValue("password")}
	if _, err := h.api.do(r, call{method: http.MethodPut, path: accUserPath(r) + "/password", body: body}, nil); err != nil {
		return "", "", err
	}
	return backTo(r), "access.users.passSet", nil
}

// accDeleteUser is POST /admin/users/{user}/delete.
func (h *Handler) accDeleteUser(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	if _, err := h.api.do(r, call{method: http.MethodDelete, path: accUserPath(r)}, nil); err != nil {
		return "", "", err
	}
	return "/admin/users", "access.users.deleted", nil
}

// accAccess is one access of a robot's permission.
type accAccess struct {
	Resource string `json:"resource"`
	Action   string `json:"action"`
}

// accPermission is a robot's permission over one project ("*": all).
type accPermission struct {
	Kind      string      `json:"kind"`
	Namespace string      `json:"namespace"`
	Access    []accAccess `json:"access"`
}

// Actions lists the permission's actions, comma separated.
func (p accPermission) Actions() string {
	var out []string
	for _, a := range p.Access {
		out = append(out, a.Action)
	}
	return strings.Join(out, ", ")
}

// accRobot is a robot as GET /robots answers it.
type accRobot struct {
	Name         string          `json:"name"`
	Description  string          `json:"description"`
	Level        string          `json:"level"`
	Disable      bool            `json:"disable"`
	ExpiresAt    int64           `json:"expires_at"`
	CreationTime string          `json:"creation_time"`
	Permissions  []accPermission `json:"permissions"`
}

// Expires is the robot's expiry as RFC 3339, "" for never.
func (rb accRobot) Expires() string {
	if rb.ExpiresAt <= 0 {
		return ""
	}
	return time.Unix(rb.ExpiresAt, 0).UTC().Format(time.RFC3339)
}

// accSystemRobots reads every robot the API lists and keeps the system
// ones (the API lists project robots too and filters none by level).
func (h *Handler) accSystemRobots(r *http.Request) ([]accRobot, error) {
	var out []accRobot
	for page := 1; page <= 100; page++ {
		var list []accRobot
		a, err := h.api.do(r, call{method: http.MethodGet, path: "/robots", query: url.Values{"page": {strconv.Itoa(page)}, "page_size": {"100"}}}, &list)
		if err != nil {
			return nil, err
		}
		for _, rb := range list {
			if rb.Level == "system" {
				out = append(out, rb)
			}
		}
		if len(list) < 100 || page*100 >= a.total() {
			break
		}
	}
	return out, nil
}

// accFillRobots fills the robots page's view (the page of system robots
// the request asks for).
func (h *Handler) accFillRobots(r *http.Request, v *view) error {
	if err := accForbidden(v); err != nil {
		return err
	}
	all, err := h.accSystemRobots(r)
	if err != nil {
		return err
	}
	p := newPager(r, len(all))
	start := min((p.Page-1)*pageSize, len(all))
	end := min(start+pageSize, len(all))
	v.Title = v.L.T("access.robots.title")
	v.Data = map[string]any{"Rows": all[start:end], "Pager": p}
	return nil
}

// accRobotsPage is GET /admin/robots?page=: the system robots.
func (h *Handler) accRobotsPage(_ http.ResponseWriter, r *http.Request, v *view) (string, error) {
	if err := h.accFillRobots(r, v); err != nil {
		return "", err
	}
	return "accrobots", nil
}

// accCreateRobot is POST /admin/robots: name, description, days, scope
// (all or chosen) with projects, and the pull and push actions. Its
// answer is the robots page showing the new secret, once.
func (h *Handler) accCreateRobot(w http.ResponseWriter, r *http.Request) {
	h.action(func(w http.ResponseWriter, r *http.Request) (string, string, error) {
		l := localeOf(r)
		var access []accAccess
		for _, act := range []string{"pull", "push"} {
			if r.PostFormValue(act) == "on" {
				access = append(access, accAccess{Resource: "repository", Action: act})
			}
		}
		if len(access) == 0 {
			return "", "", accBadInput(l.T("access.robots.noAction"))
		}
		var perms []accPermission
		if r.PostFormValue("scope") == "chosen" {
			for _, p := range strings.Split(r.PostFormValue("projects"), ",") {
				if p = strings.TrimSpace(p); p != "" {
					perms = append(perms, accPermission{Kind: "project", Namespace: p, Access: access})
				}
			}
			if len(perms) == 0 {
				return "", "", accBadInput(l.T("access.robots.chosen"))
			}
		} else {
			perms = []accPermission{{Kind: "project", Namespace: "*", Access: access}}
		}
		body := map[string]any{"name": strings.TrimSpace(r.PostFormValue("name")), "description": strings.TrimSpace(r.PostFormValue("description")),
			"level": "system", "permissions": perms}
		if s := strings.TrimSpace(r.PostFormValue("days")); s != "" {
			d, err := strconv.Atoi(s)
			if err != nil {
				return "", "", accBadInput(l.T("access.robots.days") + ": " + s)
			}
			body["duration"] = d
		}
		var made struct {
			Name   string `json:"name"`
			Secret string `json:"secret"`
		}
		if _, err := h.api.do(r, call{method: http.MethodPost, path: "/robots", body: body}, &made); err != nil {
			return "", "", err
		}
		v, ok := h.newView(w, r, "robots")
		if !ok {
			return "", "", nil
		}
		if err := h.accFillRobots(r, v); err != nil {
			h.showError(w, r, v, err)
			return "", "", nil
		}
		v.Path = "/admin/robots"
		v.Flash = &flash{Kind: "ok", Message: l.T("access.robots.made", made.Name)}
		v.Data.(map[string]any)["Made"] = made
		h.render(w, r, http.StatusOK, "accrobots", v)
		return "", "", nil
	})(w, r)
}

// accRobotPath is the API's path of a robot.
func accRobotPath(r *http.Request) string { return "/robots/" + url.PathEscape(r.PathValue("robot")) }

// accDisableRobot is POST /admin/robots/{robot}/disable: disable=true|false.
func (h *Handler) accDisableRobot(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	body := map[string]bool{"disable": r.PostFormValue("disable") == "true"}
	if _, err := h.api.do(r, call{method: http.MethodPut, path: accRobotPath(r), body: body}, nil); err != nil {
		return "", "", err
	}
	return localPath(r.PostFormValue("back"), "/admin/robots"), "access.robots.saved", nil
}

// accDeleteRobot is POST /admin/robots/{robot}/delete.
func (h *Handler) accDeleteRobot(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	if _, err := h.api.do(r, call{method: http.MethodDelete, path: accRobotPath(r)}, nil); err != nil {
		return "", "", err
	}
	return "/admin/robots", "access.robots.deleted", nil
}

// accSystemInfo is what the configuration page shows of GET /systeminfo.
type accSystemInfo struct {
	AuthMode         string `json:"auth_mode"`
	OIDCProvider     string `json:"oidc_provider_name"`
	ExternalURL      string `json:"external_url"`
	Storage          string `json:"registry_storage_provider_name"`
	Version          string `json:"harbor_version"`
	Scanning         bool   `json:"scanning"`
	SelfRegistration bool   `json:"self_registration"`
}

// accLabel is a label as GET /labels answers it.
type accLabel struct {
	ID           int64  `json:"id"`
	Name         string `json:"name"`
	Description  string `json:"description"`
	Color        string `json:"color"`
	CreationTime string `json:"creation_time"`
}

// accConfigPage is GET /admin/config?page=: the system's configuration
// as the API tells it, and the global labels.
func (h *Handler) accConfigPage(_ http.ResponseWriter, r *http.Request, v *view) (string, error) {
	if err := accForbidden(v); err != nil {
		return "", err
	}
	var info accSystemInfo
	if _, err := h.api.do(r, call{method: http.MethodGet, path: "/systeminfo"}, &info); err != nil {
		return "", err
	}
	var labels []accLabel
	a, err := h.api.do(r, call{method: http.MethodGet, path: "/labels", query: listQuery(r, url.Values{"scope": {"g"}})}, &labels)
	if err != nil {
		return "", err
	}
	v.Title = v.L.T("access.config.title")
	v.Data = map[string]any{"Info": info, "Labels": labels, "Pager": newPager(r, a.total())}
	return "accconfig", nil
}

// accCreateLabel is POST /admin/config/labels: name, description, color.
func (h *Handler) accCreateLabel(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	body := map[string]string{"name": strings.TrimSpace(r.PostFormValue("name")), "description": strings.TrimSpace(r.PostFormValue("description")),
		"color": r.PostFormValue("color"), "scope": "g"}
	if _, err := h.api.do(r, call{method: http.MethodPost, path: "/labels", body: body}, nil); err != nil {
		return "", "", err
	}
	return "/admin/config", "access.labels.made", nil
}

// accDeleteLabel is POST /admin/config/labels/{id}/delete.
func (h *Handler) accDeleteLabel(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	if _, err := h.api.do(r, call{method: http.MethodDelete, path: "/labels/" + url.PathEscape(r.PathValue("id"))}, nil); err != nil {
		return "", "", err
	}
	return "/admin/config", "access.labels.deleted", nil
}
