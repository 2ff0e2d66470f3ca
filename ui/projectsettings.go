package ui

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

var _ = addMessages(map[string]msg{
	"ps.members.title":      {"Members", "成员"},
	"ps.members.name":       {"Name", "名称"},
	"ps.members.type":       {"Type", "类型"},
	"ps.members.user":       {"User", "用户"},
	"ps.members.group":      {"Group", "用户组"},
	"ps.members.role":       {"Role", "角色"},
	"ps.members.none":       {"No member yet.", "还没有成员。"},
	"ps.members.add":        {"Add a member", "添加成员"},
	"ps.members.username":   {"User name", "用户名"},
	"ps.members.addButton":  {"Add", "添加"},
	"ps.members.added":      {"Member added.", "成员已添加。"},
	"ps.members.changeRole": {"Change role", "修改角色"},
	"ps.members.roleOf":     {"Role of %s", "%s 的角色"},
	"ps.members.changed":    {"Role changed.", "角色已修改。"},
	"ps.members.removed":    {"Member removed.", "成员已移除。"},
	"ps.members.remove":     {"Remove", "移除"},

	"ps.robots.title":       {"Robot accounts", "机器人账户"},
	"ps.robots.name":        {"Name", "名称"},
	"ps.robots.perms":       {"Permissions", "权限"},
	"ps.robots.expires":     {"Expires", "过期时间"},
	"ps.robots.never":       {"Never", "永不过期"},
	"ps.robots.status":      {"Status", "状态"},
	"ps.robots.enabled":     {"Enabled", "已启用"},
	"ps.robots.disabled":    {"Disabled", "已禁用"},
	"ps.robots.created":     {"Created", "创建时间"},
	"ps.robots.none":        {"No robot account yet.", "还没有机器人账户。"},
	"ps.robots.new":         {"New robot account", "新建机器人账户"},
	"ps.robots.shortName":   {"Name (the account is robot$<project>+<name>)", "名称（账户名为 robot$<项目>+<名称>）"},
	"ps.robots.desc":        {"Description", "描述"},
	"ps.robots.days":        {"Expires after (days, -1 or empty for never)", "有效期（天，-1 或留空表示永不过期）"},
	"ps.robots.access":      {"Repository permissions", "仓库权限"},
	"ps.robots.pull":        {"Pull", "拉取"},
	"ps.robots.push":        {"Push", "推送"},
	"ps.robots.delete":      {"Delete", "删除"},
	"ps.robots.create":      {"Create", "创建"},
	"ps.robots.noAccess":    {"Choose at least one permission.", "请至少选择一项权限。"},
	"ps.robots.badDays":     {"The expiry must be a whole number of days, or -1 for never.", "有效期必须是整数天数，或 -1 表示永不过期。"},
	"ps.robots.madeTitle":   {"Robot account %s created", "机器人账户 %s 已创建"},
	"ps.robots.secretTitle": {"New secret of %s", "%s 的新密钥"},
	"ps.robots.account":     {"Account name", "账户名"},
	"ps.robots.secret":      {"Secret", "密钥"},
	"ps.robots.once":        {"Copy the secret now: it will not be shown again.", "请立即复制密钥：它不会再次显示。"},
	"ps.robots.disable":     {"Disable", "禁用"},
	"ps.robots.enable":      {"Enable", "启用"},
	"ps.robots.switched":    {"Robot account saved.", "机器人账户已保存。"},
	"ps.robots.deleted":     {"Robot account deleted.", "机器人账户已删除。"},
	"ps.robots.refresh":     {"New secret", "刷新密钥"},
	"ps.robots.back":        {"Back to the robot accounts", "返回机器人账户"},

	"ps.labels.title":      {"Labels", "标签"},
	"ps.labels.name":       {"Name", "名称"},
	"ps.labels.color":      {"Color", "颜色"},
	"ps.labels.desc":       {"Description", "描述"},
	"ps.labels.created":    {"Created", "创建时间"},
	"ps.labels.none":       {"No label in this project yet.", "该项目还没有标签。"},
	"ps.labels.new":        {"New label", "新建标签"},
	"ps.labels.create":     {"Create", "创建"},
	"ps.labels.made":       {"Label created.", "标签已创建。"},
	"ps.labels.deleted":    {"Label deleted.", "标签已删除。"},
	"ps.color.#0b5cad":     {"Blue", "蓝色"},
	"ps.color.#14532d":     {"Green", "绿色"},
	"ps.color.#b3261e":     {"Red", "红色"},
	"ps.color.#8a5300":     {"Orange", "橙色"},
	"ps.color.#6b21a8":     {"Purple", "紫色"},
	"ps.color.#0f766e":     {"Teal", "青色"},
	"ps.color.#4f5660":     {"Grey", "灰色"},
	"ps.color.#1b1f24":     {"Black", "黑色"},
	"ps.logs.title":        {"Logs", "日志"},
	"ps.logs.username":     {"User", "用户"},
	"ps.logs.operation":    {"Operation", "操作"},
	"ps.logs.resource":     {"Resource", "资源"},
	"ps.logs.type":         {"Resource type", "资源类型"},
	"ps.logs.time":         {"Time", "时间"},
	"ps.logs.result":       {"Result", "结果"},
	"ps.logs.any":          {"Any", "全部"},
	"ps.logs.none":         {"No log entry found.", "没有找到日志记录。"},
	"ps.logs.first":        {"First page", "第一页"},
	"ps.logs.more":         {"Older", "更早"},
	"ps.logs.pages":        {"Log pages", "日志分页"},
	"ps.hooks.title":       {"Webhooks", "Webhooks"},
	"ps.hooks.name":        {"Name", "名称"},
	"ps.hooks.address":     {"Endpoint URL", "目标 URL"},
	"ps.hooks.events":      {"Event types", "事件类型"},
	"ps.hooks.status":      {"Status", "状态"},
	"ps.hooks.enabled":     {"Enabled", "已启用"},
	"ps.hooks.disabled":    {"Disabled", "已停用"},
	"ps.hooks.creator":     {"Creator", "创建者"},
	"ps.hooks.none":        {"No webhook yet.", "还没有 Webhook。"},
	"ps.hooks.new":         {"New webhook", "新建 Webhook"},
	"ps.hooks.desc":        {"Description", "描述"},
	"ps.hooks.auth":        {"Auth header (sent as Authorization; write-only)", "认证头（作为 Authorization 发送；只写）"},
	"ps.hooks.skip":        {"Skip certificate verification", "跳过证书验证"},
	"ps.hooks.create":      {"Create", "创建"},
	"ps.hooks.made":        {"Webhook created.", "Webhook 已创建。"},
	"ps.hooks.noEvent":     {"Choose at least one event type.", "请至少选择一种事件类型。"},
	"ps.hooks.enable":      {"Enable", "启用"},
	"ps.hooks.disable":     {"Disable", "停用"},
	"ps.hooks.switched":    {"Webhook saved.", "Webhook 已保存。"},
	"ps.hooks.deleted":     {"Webhook deleted.", "Webhook 已删除。"},
	"ps.hooks.log":         {"Delivery log", "投递记录"},
	"ps.hooks.logOf":       {"Deliveries of %s", "%s 的投递记录"},
	"ps.hooks.back":        {"Back to the webhooks", "返回 Webhooks"},
	"ps.hooks.event":       {"Event", "事件"},
	"ps.hooks.attempts":    {"Attempts", "尝试次数"},
	"ps.hooks.code":        {"Response code", "响应码"},
	"ps.hooks.time":        {"Time", "时间"},
	"ps.hooks.error":       {"Error", "错误"},
	"ps.hooks.noDeliv":     {"No delivery yet.", "还没有投递记录。"},
	"ps.hooks.redeliver":   {"Redeliver", "重新投递"},
	"ps.hooks.requeued":    {"Delivery queued again.", "已重新加入投递队列。"},
	"ps.dstatus.pending":   {"Pending", "等待中"},
	"ps.dstatus.running":   {"Running", "投递中"},
	"ps.dstatus.succeeded": {"Succeeded", "成功"},
	"ps.dstatus.dead":      {"Failed", "失败"},
	"ps.dstatus.canceled":  {"Canceled", "已取消"},
})

// psRoles are Harbor's project roles in the order the forms offer them.
var psRoles = []int{1, 4, 2, 3, 5}

// psColors is the palette of label colors the form offers (each has a
// swatch class in app.css and a name in the catalog).
var psColors = []string{"#0b5cad", "#14532d", "#b3261e", "#8a5300", "#6b21a8", "#0f766e", "#4f5660", "#1b1f24"}

// psLogOps are the operations the project log search offers.
var psLogOps = []string{"PUSH_ARTIFACT", "PULL_ARTIFACT", "DELETE_ARTIFACT", "DELETE_TAG", "CREATE_REPOSITORY", "DELETE_REPOSITORY",
	"CREATE_PROJECT", "CREATE_ROBOT", "DELETE_ROBOT", "CHANGE_MEMBER", "CREATE_WEBHOOK_POLICY", "DELETE_WEBHOOK_POLICY"}

// projectSettingRoutes lists the pages of members, robot accounts, labels, logs and webhooks of a project.
func (h *Handler) projectSettingRoutes() []route {
	return []route{
		{"GET /projects/{project}/members", h.page("projects", h.psMembersPage)},
		{"POST /projects/{project}/members", h.action(h.psAddMember)},
		{"POST /projects/{project}/members/{mid}/role", h.action(h.psSetRole)},
		{"POST /projects/{project}/members/{mid}/delete", h.action(h.psRemoveMember)},
		{"GET /projects/{project}/robots", h.page("projects", h.psRobotsPage)},
		{"POST /projects/{project}/robots", h.action(h.psCreateRobot)},
		{"POST /projects/{project}/robots/enabled", h.action(h.psSwitchRobot)},
		{"POST /projects/{project}/robots/refresh", h.action(h.psRefreshRobot)},
		{"POST /projects/{project}/robots/delete", h.action(h.psDeleteRobot)},
		{"GET /projects/{project}/labels", h.page("projects", h.psLabelsPage)},
		{"POST /projects/{project}/labels", h.action(h.psCreateLabel)},
		{"POST /projects/{project}/labels/{id}/delete", h.action(h.psDeleteLabel)},
		{"GET /projects/{project}/logs", h.page("projects", h.psLogsPage)},
		{"GET /projects/{project}/webhooks", h.page("projects", h.psWebhooksPage)},
		{"POST /projects/{project}/webhooks", h.action(h.psCreateWebhook)},
		{"POST /projects/{project}/webhooks/{policy}/enabled", h.action(h.psSwitchWebhook)},
		{"POST /projects/{project}/webhooks/{policy}/delete", h.action(h.psDeleteWebhook)},
		{"GET /projects/{project}/webhooks/{policy}", h.page("projects", h.psDeliveriesPage)},
		{"POST /projects/{project}/webhooks/{policy}/redeliver", h.action(h.psRedeliver)},
	}
}

// psBase is the API path of a project.
func psBase(project string) string { return "/projects/" + url.PathEscape(project) }

// psPage is the portal page of a project's tab.
func psPage(project, tab string) string { return "/projects/" + url.PathEscape(project) + "/" + tab }

// psBad is a form error shown with a catalog message.
func psBad(r *http.Request, key string) error {
	return &APIError{Status: http.StatusBadRequest, Message: localeOf(r).T(key)}
}

// psMember is a member as the API answers it.
type psMember struct {
	ID         int64  `json:"id"`
	EntityName string `json:"entity_name"`
	EntityType string `json:"entity_type"`
	RoleID     int    `json:"role_id"`
}

// psMembersPage is GET /projects/{project}/members?page=: the members
// and their roles, and (for project admins) the forms to change them.
func (h *Handler) psMembersPage(_ http.ResponseWriter, r *http.Request, v *view) (string, error) {
	pv, err := h.project(r, v, "members")
	if err != nil {
		return "", err
	}
	var list []psMember
	a, err := h.api.do(r, call{method: http.MethodGet, path: psBase(pv.Project.Name) + "/members", query: listQuery(r, nil)}, &list)
	if err != nil {
		return "", err
	}
	v.Data = map[string]any{"P": pv, "Rows": list, "Roles": psRoles, "Pager": newPager(r, a.total())}
	return "psmembers", nil
}

// psRoleOf reads the form's role_id.
func psRoleOf(r *http.Request) (int, error) {
	n, err := strconv.Atoi(r.PostFormValue("role_id"))
	if err != nil || !slices.Contains(psRoles, n) {
		return 0, psBad(r, "ps.members.role")
	}
	return n, nil
}

// psAddMember is POST /projects/{project}/members: username, role_id.
func (h *Handler) psAddMember(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	project := r.PathValue("project")
	role, err := psRoleOf(r)
	if err != nil {
		return "", "", err
	}
	body := map[string]any{"role_id": role, "member_user": map[string]string{"username": strings.TrimSpace(r.PostFormValue("username"))}}
	if _, err := h.api.do(r, call{method: http.MethodPost, path: psBase(project) + "/members", body: body}, nil); err != nil {
		return "", "", err
	}
	return psPage(project, "members"), "ps.members.added", nil
}

// psSetRole is POST /projects/{project}/members/{mid}/role: role_id.
func (h *Handler) psSetRole(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	project := r.PathValue("project")
	role, err := psRoleOf(r)
	if err != nil {
		return "", "", err
	}
	path := psBase(project) + "/members/" + url.PathEscape(r.PathValue("mid"))
	if _, err := h.api.do(r, call{method: http.MethodPut, path: path, body: map[string]int{"role_id": role}}, nil); err != nil {
		return "", "", err
	}
	return psPage(project, "members"), "ps.members.changed", nil
}

// psRemoveMember is POST /projects/{project}/members/{mid}/delete.
func (h *Handler) psRemoveMember(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	project := r.PathValue("project")
	path := psBase(project) + "/members/" + url.PathEscape(r.PathValue("mid"))
	if _, err := h.api.do(r, call{method: http.MethodDelete, path: path}, nil); err != nil {
		return "", "", err
	}
	return psPage(project, "members"), "ps.members.removed", nil
}

// psRobotAccess is one access of a robot's permission.
type psRobotAccess struct {
	Resource string `json:"resource"`
	Action   string `json:"action"`
	Pattern  string `json:"pattern,omitempty"`
}

// psRobot is a robot account as the API answers it.
type psRobot struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Level       string `json:"level"`
	Disable     bool   `json:"disable"`
	ExpiresAt   int64  `json:"expires_at"`
	Created     string `json:"creation_time"`
	Permissions []struct {
		Namespace string          `json:"namespace"`
		Access    []psRobotAccess `json:"access"`
	} `json:"permissions"`
}

// Expires is the robot's expiry (RFC 3339), "" for never.
func (b psRobot) Expires() string {
	if b.ExpiresAt <= 0 {
		return ""
	}
	return time.Unix(b.ExpiresAt, 0).UTC().Format(time.RFC3339)
}

// Actions lists the robot's accesses as "resource:action".
func (b psRobot) Actions() []string {
	var out []string
	for _, p := range b.Permissions {
		for _, a := range p.Access {
			out = append(out, a.Resource+":"+a.Action)
		}
	}
	return out
}

// of reports whether b is a robot of project.
func (b psRobot) of(project string) bool {
	if b.Level != "project" {
		return false
	}
	for _, p := range b.Permissions {
		if p.Namespace == project {
			return true
		}
	}
	return strings.HasPrefix(b.Name, "robot$"+project+"+")
}

// psSecret is a secret shown once, in the answer to the form that made
// it.
type psSecret struct {
	Title  string
	Name   string
	Secret string
}

// psProjectRobots lists the project's robots: the API lists every robot
// the person may read, so the portal pages through all of them and keeps
// the project's (the API has no project filter).
func (h *Handler) psProjectRobots(r *http.Request, project string) ([]psRobot, error) {
	var out []psRobot
	for n := 1; n <= 100; n++ {
		var list []psRobot
		a, err := h.api.do(r, call{method: http.MethodGet, path: "/robots", query: url.Values{"page": {strconv.Itoa(n)}, "page_size": {"100"}}}, &list)
		if err != nil {
			return nil, err
		}
		for _, b := range list {
			if b.of(project) {
				out = append(out, b)
			}
		}
		if len(list) < 100 || n*100 >= a.total() {
			break
		}
	}
	return out, nil
}

// psRobotsPage is GET /projects/{project}/robots?page=: the project's
// robot accounts.
func (h *Handler) psRobotsPage(_ http.ResponseWriter, r *http.Request, v *view) (string, error) {
	return h.psRobotsView(r, v, nil)
}

// psRobotsView fills the robots page, with a secret to show once.
func (h *Handler) psRobotsView(r *http.Request, v *view, secret *psSecret) (string, error) {
	pv, err := h.project(r, v, "robots")
	if err != nil {
		return "", err
	}
	all, err := h.psProjectRobots(r, pv.Project.Name)
	if err != nil {
		return "", err
	}
	pg := newPager(r, len(all))
	start := min((pg.Page-1)*pageSize, len(all))
	end := min(start+pageSize, len(all))
	v.Data = map[string]any{"P": pv, "Rows": all[start:end], "Pager": pg, "Secret": secret}
	return "psrobots", nil
}

// psShowSecret renders the robots page with a secret, once, as the
// answer to the form (nothing is stored: a reload does not show it).
func (h *Handler) psShowSecret(w http.ResponseWriter, r *http.Request, s *psSecret) error {
	v, ok := h.newView(w, r, "projects")
	if !ok {
		return nil
	}
	// The page shown is the robots page, as if got there.
	v.Path = psPage(r.PathValue("project"), "robots")
	name, err := h.psRobotsView(r, v, s)
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, name, v)
	return nil
}

// psCreateRobot is POST /projects/{project}/robots: name, description,
// days, pull/push/delete; the answer shows the new secret once.
func (h *Handler) psCreateRobot(w http.ResponseWriter, r *http.Request) (string, string, error) {
	project := r.PathValue("project")
	var access []map[string]string
	for _, act := range []string{"pull", "push", "delete"} {
		if r.PostFormValue(act) == "on" {
			access = append(access, map[string]string{"resource": "repository", "action": act})
		}
	}
	if len(access) == 0 {
		return "", "", psBad(r, "ps.robots.noAccess")
	}
	days := -1
	if s := strings.TrimSpace(r.PostFormValue("days")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || (n < 1 && n != -1) {
			return "", "", psBad(r, "ps.robots.badDays")
		}
		days = n
	}
	body := map[string]any{"name": strings.TrimSpace(r.PostFormValue("name")), "description": strings.TrimSpace(r.PostFormValue("description")),
		"level": "project", "duration": days,
		"permissions": []map[string]any{{"kind": "project", "namespace": project, "access": access}}}
	var out struct {
		Name   string `json:"name"`
		Secret string `json:"secret"`
	}
	if _, err := h.api.do(r, call{method: http.MethodPost, path: "/robots", body: body}, &out); err != nil {
		return "", "", err
	}
	return "", "", h.psShowSecret(w, r, &psSecret{Title: localeOf(r).T("ps.robots.madeTitle", out.Name), Name: out.Name, Secret: out.Secret})
}

// psRobotPath is the API path of the form's robot.
func psRobotPath(r *http.Request) string { return "/robots/" + url.PathEscape(r.PostFormValue("name")) }

// psSwitchRobot is POST /projects/{project}/robots/enabled: name,
// disable=true|false.
func (h *Handler) psSwitchRobot(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	body := map[string]bool{"disable": r.PostFormValue("disable") == "true"}
	if _, err := h.api.do(r, call{method: http.MethodPut, path: psRobotPath(r), body: body}, nil); err != nil {
		return "", "", err
	}
	return psPage(r.PathValue("project"), "robots"), "ps.robots.switched", nil
}

// psRefreshRobot is POST /projects/{project}/robots/refresh: name; the
// answer shows the new secret once.
func (h *Handler) psRefreshRobot(w http.ResponseWriter, r *http.Request) (string, string, error) {
	var out struct {
		Secret string `json:"secret"`
	}
	if _, err := h.api.do(r, call{method: http.MethodPatch, path: psRobotPath(r), body: map[string]string{}}, &out); err != nil {
		return "", "", err
	}
	name := r.PostFormValue("name")
	return "", "", h.psShowSecret(w, r, &psSecret{Title: localeOf(r).T("ps.robots.secretTitle", name), Name: name, Secret: out.Secret})
}

// psDeleteRobot is POST /projects/{project}/robots/delete: name.
func (h *Handler) psDeleteRobot(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	if _, err := h.api.do(r, call{method: http.MethodDelete, path: psRobotPath(r)}, nil); err != nil {
		return "", "", err
	}
	return psPage(r.PathValue("project"), "robots"), "ps.robots.deleted", nil
}

// psLabel is a label as the API answers it.
type psLabel struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Color       string `json:"color"`
	Created     string `json:"creation_time"`
}

// Swatch is the label's color class ("" when its color is not one of
// the palette's).
func (l psLabel) Swatch() string {
	if i := slices.Index(psColors, strings.ToLower(l.Color)); i >= 0 {
		return "ps-c" + strconv.Itoa(i)
	}
	return ""
}

// psLabelsPage is GET /projects/{project}/labels?page=: the project's
// labels, and (for maintainers and up) the forms to add and delete them.
func (h *Handler) psLabelsPage(_ http.ResponseWriter, r *http.Request, v *view) (string, error) {
	pv, err := h.project(r, v, "labels")
	if err != nil {
		return "", err
	}
	var list []psLabel
	q := listQuery(r, url.Values{"scope": {"p"}, "project_id": {strconv.FormatUint(pv.Project.ProjectID, 10)}})
	a, err := h.api.do(r, call{method: http.MethodGet, path: "/labels", query: q}, &list)
	if err != nil {
		return "", err
	}
	colors := make([]map[string]string, 0, len(psColors))
	for i, c := range psColors {
		colors = append(colors, map[string]string{"Value": c, "Key": "ps.color." + c, "Class": "ps-c" + strconv.Itoa(i)})
	}
	v.Data = map[string]any{"P": pv, "Rows": list, "Colors": colors, "Pager": newPager(r, a.total())}
	return "pslabels", nil
}

// psCreateLabel is POST /projects/{project}/labels: name, color,
// description.
func (h *Handler) psCreateLabel(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	project := r.PathValue("project")
	var p projectJSON
	if _, err := h.api.do(r, call{method: http.MethodGet, path: psBase(project)}, &p); err != nil {
		return "", "", err
	}
	color := r.PostFormValue("color")
	if !slices.Contains(psColors, color) {
		color = psColors[0]
	}
	body := map[string]any{"name": strings.TrimSpace(r.PostFormValue("name")), "description": strings.TrimSpace(r.PostFormValue("description")),
		"color": color, "scope": "p", "project_id": p.ProjectID, "project_name": p.Name}
	if _, err := h.api.do(r, call{method: http.MethodPost, path: "/labels", body: body}, nil); err != nil {
		return "", "", err
	}
	return psPage(project, "labels"), "ps.labels.made", nil
}

// psDeleteLabel is POST /projects/{project}/labels/{id}/delete.
func (h *Handler) psDeleteLabel(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	project := r.PathValue("project")
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return "", "", &APIError{Status: http.StatusBadRequest, Message: "id: " + r.PathValue("id")}
	}
	// Only a label of this project is deleted from its page.
	var l struct {
		ProjectName string `json:"project_name"`
	}
	if _, err := h.api.do(r, call{method: http.MethodGet, path: "/labels/" + strconv.FormatInt(id, 10)}, &l); err != nil {
		return "", "", err
	}
	if l.ProjectName != project {
		return "", "", &APIError{Status: http.StatusNotFound, Message: "label " + strconv.FormatInt(id, 10) + " is not a label of " + project}
	}
	if _, err := h.api.do(r, call{method: http.MethodDelete, path: "/labels/" + strconv.FormatInt(id, 10)}, nil); err != nil {
		return "", "", err
	}
	return psPage(project, "labels"), "ps.labels.deleted", nil
}

// psLogKeys are the log search's fields, the API's q keys (resource is
// searched as a substring).
var psLogKeys = []string{"username", "operation", "resource_type", "resource"}

// psLogsPage is GET /projects/{project}/logs?username=&operation=&
// resource_type=&resource=&page=&before=&skip=: the project's audit log,
// newest first.
func (h *Handler) psLogsPage(_ http.ResponseWriter, r *http.Request, v *view) (string, error) {
	pv, err := h.project(r, v, "logs")
	if err != nil {
		return "", err
	}
	list, form, pg, err := h.auditLog(r, psBase(pv.Project.Name)+"/logs", psLogKeys)
	if err != nil {
		return "", err
	}
	v.Data = map[string]any{"P": pv, "Rows": list, "Form": form, "Ops": psLogOps, "Pager": pg}
	return "pslogs", nil
}

// psTarget is a webhook target as the API answers it (the auth header
// and secret are write-only: left out, they are kept).
type psTarget struct {
	Type           string `json:"type"`
	Address        string `json:"address"`
	SkipCertVerify bool   `json:"skip_cert_verify"`
	PayloadFormat  string `json:"payload_format,omitempty"`
	TimeoutSeconds int    `json:"timeout_seconds,omitempty"`
	AuthHeaderSet  bool   `json:"auth_header_set,omitempty"`
}

// psWebhook is a webhook policy as the API answers it.
type psWebhook struct {
	Name         string     `json:"name"`
	Description  string     `json:"description,omitempty"`
	Repositories string     `json:"repositories,omitempty"`
	Targets      []psTarget `json:"targets"`
	EventTypes   []string   `json:"event_types"`
	Enabled      bool       `json:"enabled"`
	Creator      string     `json:"creator,omitempty"`
	Created      string     `json:"creation_time,omitempty"`
}

// psWebhooksPage is GET /projects/{project}/webhooks?page=: the
// project's webhook policies and the form to add one.
func (h *Handler) psWebhooksPage(_ http.ResponseWriter, r *http.Request, v *view) (string, error) {
	pv, err := h.project(r, v, "webhooks")
	if err != nil {
		return "", err
	}
	var list []psWebhook
	a, err := h.api.do(r, call{method: http.MethodGet, path: psBase(pv.Project.Name) + "/webhook/policies", query: listQuery(r, nil)}, &list)
	if err != nil {
		return "", err
	}
	var kinds struct {
		EventType []string `json:"event_type"`
	}
	if _, err := h.api.do(r, call{method: http.MethodGet, path: psBase(pv.Project.Name) + "/webhook/events"}, &kinds); err != nil {
		return "", err
	}
	v.Data = map[string]any{"P": pv, "Rows": list, "Events": kinds.EventType, "Pager": newPager(r, a.total())}
	return "pswebhooks", nil
}

// psCreateWebhook is POST /projects/{project}/webhooks: name,
// description, address, auth_header, skip_cert_verify, event_type (the
// API checks each).
func (h *Handler) psCreateWebhook(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	project := r.PathValue("project")
	var types []string
	for _, t := range r.PostForm["event_type"] {
		if !slices.Contains(types, t) { // the API checks each

			types = append(types, t)
		}
	}
	if len(types) == 0 {
		return "", "", psBad(r, "ps.hooks.noEvent")
	}
	target := map[string]any{"type": "http", "address": strings.TrimSpace(r.PostFormValue("address")),
		"skip_cert_verify": r.PostFormValue("skip_cert_verify") == "on"}
	if s := strings.TrimSpace(r.PostFormValue("auth_header")); s != "" {
		target["auth_header"] = s
	}
	body := map[string]any{"name": strings.TrimSpace(r.PostFormValue("name")), "description": strings.TrimSpace(r.PostFormValue("description")),
		"targets": []any{target}, "event_types": types, "enabled": true}
	if _, err := h.api.do(r, call{method: http.MethodPost, path: psBase(project) + "/webhook/policies", body: body}, nil); err != nil {
		return "", "", err
	}
	return psPage(project, "webhooks"), "ps.hooks.made", nil
}

// psPolicyPath is the API path of the request's webhook policy.
func psPolicyPath(r *http.Request) string {
	return psBase(r.PathValue("project")) + "/webhook/policies/" + url.PathEscape(r.PathValue("policy"))
}

// psSwitchWebhook is POST /projects/{project}/webhooks/{policy}/enabled:
// enabled=true|false (the rest of the policy, its auth header included,
// stays).
func (h *Handler) psSwitchWebhook(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	var pol psWebhook
	if _, err := h.api.do(r, call{method: http.MethodGet, path: psPolicyPath(r)}, &pol); err != nil {
		return "", "", err
	}
	pol.Enabled = r.PostFormValue("enabled") == "true"
	pol.Creator, pol.Created = "", ""
	if _, err := h.api.do(r, call{method: http.MethodPut, path: psPolicyPath(r), body: pol}, nil); err != nil {
		return "", "", err
	}
	return psPage(r.PathValue("project"), "webhooks"), "ps.hooks.switched", nil
}

// psDeleteWebhook is POST /projects/{project}/webhooks/{policy}/delete.
func (h *Handler) psDeleteWebhook(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	if _, err := h.api.do(r, call{method: http.MethodDelete, path: psPolicyPath(r)}, nil); err != nil {
		return "", "", err
	}
	return psPage(r.PathValue("project"), "webhooks"), "ps.hooks.deleted", nil
}

// psDelivery is a delivery log entry as the API answers it.
type psDelivery struct {
	ID        string `json:"id"`
	Address   string `json:"address"`
	EventType string `json:"event_type"`
	Status    string `json:"status"`
	Created   string `json:"creation_time"`
	Attempts  []struct {
		At         string `json:"start_time"`
		StatusCode int    `json:"status_code"`
		Error      string `json:"error"`
	} `json:"attempts"`
}

// Code is the response code of the last attempt (0 without one).
func (d psDelivery) Code() int {
	if len(d.Attempts) == 0 {
		return 0
	}
	return d.Attempts[len(d.Attempts)-1].StatusCode
}

// LastError is the error of the last attempt.
func (d psDelivery) LastError() string {
	if len(d.Attempts) == 0 {
		return ""
	}
	return d.Attempts[len(d.Attempts)-1].Error
}

// Active reports a delivery still on its way.
func (d psDelivery) Active() bool {
	switch strings.ToLower(d.Status) {
	case "pending", "running":
		return true
	}
	return false
}

// psDeliveriesPage is GET /projects/{project}/webhooks/{policy}?page=:
// the policy's delivery log, newest first, refreshed live while a
// delivery is on its way.
func (h *Handler) psDeliveriesPage(_ http.ResponseWriter, r *http.Request, v *view) (string, error) {
	pv, err := h.project(r, v, "webhooks")
	if err != nil {
		return "", err
	}
	var pol psWebhook
	if _, err := h.api.do(r, call{method: http.MethodGet, path: psPolicyPath(r)}, &pol); err != nil {
		return "", err
	}
	var list []psDelivery
	a, err := h.api.do(r, call{method: http.MethodGet, path: psPolicyPath(r) + "/deliveries", query: listQuery(r, nil)}, &list)
	if err != nil {
		return "", err
	}
	live := slices.ContainsFunc(list, psDelivery.Active)
	v.Data = map[string]any{"P": pv, "Policy": pol, "Rows": list, "Live": live, "Pager": newPager(r, a.total())}
	return "psdeliveries", nil
}

// psRedeliver is POST /projects/{project}/webhooks/{policy}/redeliver:
// id.
func (h *Handler) psRedeliver(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	path := psPolicyPath(r) + "/deliveries/" + url.PathEscape(r.PostFormValue("id")) + "/redeliver"
	if _, err := h.api.do(r, call{method: http.MethodPost, path: path}, nil); err != nil {
		return "", "", err
	}
	return psPage(r.PathValue("project"), "webhooks/"+url.PathEscape(r.PathValue("policy"))), "ps.hooks.requeued", nil
}
