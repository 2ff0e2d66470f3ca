package ui

import (
	"encoding/json"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
)

var _ = addMessages(map[string]msg{
	"access.reg.title":           {"Registry endpoints", "仓库管理"},
	"access.reg.search":          {"Search endpoints by name", "按名称搜索仓库"},
	"access.reg.new":             {"New endpoint", "新建目标"},
	"access.reg.type":            {"Type", "类型"},
	"access.reg.url":             {"URL", "URL"},
	"access.reg.accessKey":       {"Access ID (user name)", "访问 ID（用户名）"},
	"access.reg.secret":          {"Access secret (password)", "访问密码"},
	"access.reg.keepSecret":      {"Access secret (empty keeps the stored one)", "访问密码（留空则保留原密码）"},
	"access.reg.insecure":        {"Skip certificate verification (insecure)", "跳过证书验证（不安全）"},
	"access.reg.credential":      {"Credential", "凭证"},
	"access.reg.anonymous":       {"anonymous", "匿名"},
	"access.reg.test":            {"Test connection", "测试连接"},
	"access.reg.pinged":          {"The endpoint answered and accepted the credentials.", "目标已响应并接受了凭证。"},
	"access.reg.none":            {"No registry endpoint yet.", "还没有仓库目标。"},
	"access.reg.made":            {"Endpoint created.", "目标已创建。"},
	"access.reg.saved":           {"Endpoint saved.", "目标已保存。"},
	"access.reg.deleted":         {"Endpoint deleted.", "目标已删除。"},
	"access.reg.delete":          {"Delete endpoint", "删除目标"},
	"access.reg.edit":            {"Edit", "编辑"},
	"access.reg.editTitle":       {"Endpoint %s", "目标 %s"},
	"access.reg.back":            {"All endpoints", "全部目标"},
	"access.repl.title":          {"Replication", "复制管理"},
	"access.repl.search":         {"Search policies by name", "按名称搜索规则"},
	"access.repl.new":            {"New policy", "新建规则"},
	"access.repl.newTitle":       {"New replication policy", "新建复制规则"},
	"access.repl.editTitle":      {"Replication policy %s", "复制规则 %s"},
	"access.repl.policies":       {"Policies", "复制规则"},
	"access.repl.source":         {"Source registry", "源仓库"},
	"access.repl.dest":           {"Destination registry", "目标仓库"},
	"access.repl.local":          {"This registry", "本仓库"},
	"access.repl.destNS":         {"Destination namespace (empty keeps the source's)", "目标命名空间（留空则与源相同）"},
	"access.repl.flatten":        {"Path components to replace (flattening)", "替换的路径层级数（扁平化）"},
	"access.repl.filters":        {"Filters", "过滤器"},
	"access.repl.fName":          {"Repository name pattern (e.g. library/**)", "仓库名称模式（例如 library/**）"},
	"access.repl.fTag":           {"Tag pattern (e.g. v*)", "Tag 模式（例如 v*）"},
	"access.repl.fTagEx":         {"Exclude tags matching", "排除匹配的 Tag"},
	"access.repl.fLabel":         {"Labels (comma separated, key or key=value)", "标签（逗号分隔，key 或 key=value）"},
	"access.repl.fResource":      {"Artifact type pattern (resource)", "制品类型模式（资源）"},
	"access.repl.trigger":        {"Trigger", "触发方式"},
	"access.repl.cron":           {"Cron (with seconds, for scheduled)", "Cron 表达式（含秒，定时触发时使用）"},
	"access.repl.override":       {"Override artifacts at the destination", "覆盖目标中的制品"},
	"access.repl.deletion":       {"Replicate deletions", "同步删除操作"},
	"access.repl.enabled":        {"Enabled", "启用"},
	"access.repl.disabled":       {"Disabled", "已停用"},
	"access.repl.save":           {"Save policy", "保存规则"},
	"access.repl.made":           {"Policy saved.", "规则已保存。"},
	"access.repl.deleted":        {"Policy deleted.", "规则已删除。"},
	"access.repl.delete":         {"Delete policy", "删除规则"},
	"access.repl.none":           {"No replication policy yet.", "还没有复制规则。"},
	"access.repl.run":            {"Replicate now", "立即复制"},
	"access.repl.started":        {"Replication started.", "复制已开始。"},
	"access.repl.executions":     {"Executions", "执行记录"},
	"access.repl.allExec":        {"All executions", "全部执行记录"},
	"access.repl.policy":         {"Policy", "规则"},
	"access.repl.anyPolicy":      {"Any policy", "全部规则"},
	"access.repl.anyStatus":      {"Any status", "全部状态"},
	"access.repl.anyTrigger":     {"Any trigger", "全部触发方式"},
	"access.repl.filter":         {"Filter", "筛选"},
	"access.repl.start":          {"Started", "开始时间"},
	"access.repl.end":            {"Ended", "结束时间"},
	"access.repl.succeeded":      {"Succeeded", "成功"},
	"access.repl.failed":         {"Failed", "失败"},
	"access.repl.inProgress":     {"In progress", "进行中"},
	"access.repl.stopped":        {"Stopped", "已停止"},
	"access.repl.total":          {"Total", "总数"},
	"access.repl.progress":       {"Progress", "进度"},
	"access.repl.bytes":          {"Copied", "已复制"},
	"access.repl.noExec":         {"No execution yet.", "还没有执行记录。"},
	"access.repl.execTitle":      {"Replication execution %d", "复制执行 %d"},
	"access.repl.tasks":          {"Tasks", "任务"},
	"access.repl.resource":       {"Resource", "资源"},
	"access.repl.srcRes":         {"Source", "源"},
	"access.repl.dstRes":         {"Destination", "目标"},
	"access.repl.operation":      {"Operation", "操作"},
	"access.repl.noTasks":        {"No task.", "没有任务。"},
	"access.repl.log":            {"Log of task %d", "任务 %d 的日志"},
	"access.repl.logs":           {"Task logs", "任务日志"},
	"access.repl.stop":           {"Stop", "停止"},
	"access.repl.stopAsked":      {"Stop requested.", "已请求停止。"},
	"access.repl.retry":          {"Retry failed tasks", "重试失败的任务"},
	"access.repl.retried":        {"Failed tasks run again.", "失败的任务已重新运行。"},
	"access.repl.statusText":     {"Message", "信息"},
	"access.repl.id":             {"ID", "编号"},
	"access.repl.st.Pending":     {"Pending", "等待中"},
	"access.repl.st.InProgress":  {"In progress", "进行中"},
	"access.repl.st.Succeed":     {"Succeeded", "成功"},
	"access.repl.st.Failed":      {"Failed", "失败"},
	"access.repl.st.Stopped":     {"Stopped", "已停止"},
	"access.repl.tr.manual":      {"Manual", "手动"},
	"access.repl.tr.scheduled":   {"Scheduled", "定时"},
	"access.repl.tr.event_based": {"Event based", "事件驱动"},
})

// accReplicationRoutes are the registry endpoint and replication pages.
func (h *Handler) accReplicationRoutes() []route {
	return []route{
		{"GET /admin/registries", h.page("registries", h.accRegistriesPage)},
		{"POST /admin/registries", h.action(h.accCreateRegistry)},
		{"POST /admin/registries/ping", h.action(h.accPingRegistry)},
		{"GET /admin/registries/{name}", h.page("registries", h.accRegistryPage)},
		{"POST /admin/registries/{name}", h.action(h.accUpdateRegistry)},
		{"POST /admin/registries/{name}/delete", h.action(h.accDeleteRegistry)},
		{"GET /admin/replication", h.page("replication", h.accPoliciesPage)},
		{"GET /admin/replication/new", h.page("replication", h.accPolicyPage)},
		{"POST /admin/replication/policies", h.action(h.accSavePolicy)},
		{"GET /admin/replication/policies/{name}", h.page("replication", h.accPolicyPage)},
		{"POST /admin/replication/policies/{name}", h.action(h.accSavePolicy)},
		{"POST /admin/replication/policies/{name}/delete", h.action(h.accDeletePolicy)},
		{"POST /admin/replication/policies/{name}/run", h.action(h.accRunPolicy)},
		{"GET /admin/replication/executions", h.page("replication", h.accExecutionsPage)},
		{"GET /admin/replication/executions/{id}", h.page("replication", h.accExecutionPage)},
		{"POST /admin/replication/executions/{id}/stop", h.action(h.accStopExecution)},
		{"POST /admin/replication/executions/{id}/retry", h.action(h.accRetryExecution)},
	}
}

// accCredential is a registry endpoint's credential as the API answers it.
type accCredential struct {
	Type      string `json:"type"`
	AccessKey string `json:"access_key"`
}

// accRegistry is a registry endpoint as the API answers it.
type accRegistry struct {
	Name         string         `json:"name"`
	Type         string         `json:"type"`
	Description  string         `json:"description"`
	URL          string         `json:"url"`
	Credential   *accCredential `json:"credential"`
	Insecure     bool           `json:"insecure"`
	CreationTime string         `json:"creation_time"`
}

// accRegistryTypes are the endpoint types the form offers.
var accRegistryTypes = []string{"berth", "harbor", "distribution", "docker-hub"}

// accRegistryPath is the API's path of the request's endpoint.
func accRegistryPath(r *http.Request) string {
	return "/registries/" + url.PathEscape(r.PathValue("name"))
}

// accRegistriesPage is GET /admin/registries?q=&page=: the endpoints.
func (h *Handler) accRegistriesPage(_ http.ResponseWriter, r *http.Request, v *view) (string, error) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	extra := url.Values{}
	if q != "" {
		extra.Set("q", "name=~"+q)
	}
	var list []accRegistry
	a, err := h.api.do(r, call{method: http.MethodGet, path: "/registries", query: listQuery(r, extra)}, &list)
	if err != nil {
		return "", err
	}
	v.Title = v.L.T("access.reg.title")
	v.Data = map[string]any{"Rows": list, "Q": q, "Pager": newPager(r, a.total()), "Types": accRegistryTypes}
	return "accregistries", nil
}

// accRegistryBody is the API body of the endpoint form (name, type,
// description, url, access_key, access_secret, insecure); an empty
// secret is left out, which keeps a stored one.
func accRegistryBody(r *http.Request) map[string]any {
	body := map[string]any{
		"type": r.PostFormValue("type"), "description": strings.TrimSpace(r.PostFormValue("description")),
		"url": strings.TrimSpace(r.PostFormValue("url")), "insecure": r.PostFormValue("insecure") == "on",
	}
	if n := strings.TrimSpace(r.PostFormValue("name")); n != "" {
		body["name"] = n
	}
	key, secret := strings.TrimSpace(r.PostFormValue("access_key")), r.PostFormValue("access_secret")
	if key != "" || secret != "" {
		cred := map[string]any{"type": "basic", "access_key": key}
		if secret != "" {
			cred["access_secret"] = secret
		}
		body["credential"] = cred
	}
	return body
}

// accCreateRegistry is POST /admin/registries.
func (h *Handler) accCreateRegistry(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	if _, err := h.api.do(r, call{method: http.MethodPost, path: "/registries", body: accRegistryBody(r)}, nil); err != nil {
		return "", "", err
	}
	return "/admin/registries", "access.reg.made", nil
}

// accPingRegistry is POST /admin/registries/ping: a stored endpoint by
// name (the form's other fields, when given, override its own).
func (h *Handler) accPingRegistry(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	body := map[string]any{"name": strings.TrimSpace(r.PostFormValue("name"))}
	if r.PostFormValue("url") != "" {
		body = accRegistryBody(r)
	}
	if _, err := h.api.do(r, call{method: http.MethodPost, path: "/registries/ping", body: body}, nil); err != nil {
		return "", "", err
	}
	return localPath(r.PostFormValue("back"), "/admin/registries"), "access.reg.pinged", nil
}

// accRegistryPage is GET /admin/registries/{name}: the form to edit an
// endpoint.
func (h *Handler) accRegistryPage(_ http.ResponseWriter, r *http.Request, v *view) (string, error) {
	var reg accRegistry
	if _, err := h.api.do(r, call{method: http.MethodGet, path: accRegistryPath(r)}, &reg); err != nil {
		return "", err
	}
	v.Title = v.L.T("access.reg.editTitle", reg.Name)
	v.Data = map[string]any{"Reg": reg, "Types": accRegistryTypes}
	return "accregistry", nil
}

// accUpdateRegistry is POST /admin/registries/{name}: the edit form.
func (h *Handler) accUpdateRegistry(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	body := accRegistryBody(r)
	delete(body, "name")
	if _, ok := body["credential"]; !ok {
		body["credential"] = nil // no access ID: anonymous
	}
	if _, err := h.api.do(r, call{method: http.MethodPut, path: accRegistryPath(r), body: body}, nil); err != nil {
		return "", "", err
	}
	return "/admin/registries", "access.reg.saved", nil
}

// accDeleteRegistry is POST /admin/registries/{name}/delete.
func (h *Handler) accDeleteRegistry(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	if _, err := h.api.do(r, call{method: http.MethodDelete, path: accRegistryPath(r)}, nil); err != nil {
		return "", "", err
	}
	return "/admin/registries", "access.reg.deleted", nil
}

// accRef names a registry endpoint in a policy (null: this registry).
type accRef struct {
	Name string `json:"name"`
}

// accFilter is a replication policy's filter.
type accFilter struct {
	Type       string          `json:"type"`
	Value      json.RawMessage `json:"value"`
	Decoration string          `json:"decoration,omitempty"`
}

// accTrigger is a replication policy's trigger.
type accTrigger struct {
	Type            string `json:"type"`
	TriggerSettings *struct {
		Cron string `json:"cron"`
	} `json:"trigger_settings,omitempty"`
}

// accPolicy is a replication policy as the API answers and takes it.
type accPolicy struct {
	Name              string      `json:"name"`
	Description       string      `json:"description,omitempty"`
	SrcRegistry       *accRef     `json:"src_registry"`
	DestRegistry      *accRef     `json:"dest_registry"`
	DestNamespace     string      `json:"dest_namespace,omitempty"`
	Flatten           int         `json:"dest_namespace_replace_count"`
	Filters           []accFilter `json:"filters"`
	Trigger           *accTrigger `json:"trigger"`
	Override          bool        `json:"override"`
	ReplicateDeletion bool        `json:"replicate_deletion"`
	Speed             int         `json:"speed"`
	Enabled           bool        `json:"enabled"`
	TaskAttempts      int         `json:"task_attempts"`
	BlobRetries       int         `json:"blob_retries"`
	Creator           string      `json:"creator,omitempty"`
	CreationTime      string      `json:"creation_time,omitempty"`
}

// Source is the source endpoint's name ("" for this registry).
func (p accPolicy) Source() string {
	if p.SrcRegistry == nil {
		return ""
	}
	return p.SrcRegistry.Name
}

// Dest is the destination endpoint's name ("" for this registry).
func (p accPolicy) Dest() string {
	if p.DestRegistry == nil {
		return ""
	}
	return p.DestRegistry.Name
}

// TriggerType is the policy's trigger ("manual" when none).
func (p accPolicy) TriggerType() string {
	if p.Trigger == nil || p.Trigger.Type == "" {
		return "manual"
	}
	return p.Trigger.Type
}

// Cron is the schedule of a scheduled policy.
func (p accPolicy) Cron() string {
	if p.Trigger == nil || p.Trigger.TriggerSettings == nil {
		return ""
	}
	return p.Trigger.TriggerSettings.Cron
}

// Filter returns the patterns of the filters of a type and decoration,
// comma separated (a label filter's list joined).
func (p accPolicy) Filter(typ, decoration string) string {
	var out []string
	for _, f := range p.Filters {
		d := f.Decoration
		if d == "" {
			d = "matches"
		}
		if d != decoration || (f.Type != typ && !(typ == "artifact_type" && f.Type == "resource")) {
			continue
		}
		var one string
		var many []string
		switch {
		case json.Unmarshal(f.Value, &one) == nil:
			out = append(out, one)
		case json.Unmarshal(f.Value, &many) == nil:
			out = append(out, many...)
		}
	}
	return strings.Join(out, ", ")
}

// accPoliciesPage is GET /admin/replication?q=&page=: the policies.
func (h *Handler) accPoliciesPage(_ http.ResponseWriter, r *http.Request, v *view) (string, error) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	extra := url.Values{}
	if q != "" {
		extra.Set("q", "name=~"+q)
	}
	var list []accPolicy
	a, err := h.api.do(r, call{method: http.MethodGet, path: "/replication/policies", query: listQuery(r, extra)}, &list)
	if err != nil {
		return "", err
	}
	v.Title = v.L.T("access.repl.title")
	v.Data = map[string]any{"Rows": list, "Q": q, "Pager": newPager(r, a.total())}
	return "accreplication", nil
}

// accRegistryNames lists the endpoints' names, for the policy form.
func (h *Handler) accRegistryNames(r *http.Request) ([]string, error) {
	var out []string
	for page := 1; page <= 20; page++ {
		var list []accRegistry
		a, err := h.api.do(r, call{method: http.MethodGet, path: "/registries", query: url.Values{"page": {strconv.Itoa(page)}, "page_size": {"100"}}}, &list)
		if err != nil {
			return nil, err
		}
		for _, reg := range list {
			out = append(out, reg.Name)
		}
		if len(list) < 100 || page*100 >= a.total() {
			break
		}
	}
	return out, nil
}

// accPolicyPage is GET /admin/replication/new and
// /admin/replication/policies/{name}: the form of a new policy or of one
// to edit.
func (h *Handler) accPolicyPage(_ http.ResponseWriter, r *http.Request, v *view) (string, error) {
	regs, err := h.accRegistryNames(r)
	if err != nil {
		return "", err
	}
	p := accPolicy{Enabled: true, Trigger: &accTrigger{Type: "manual"}}
	name := r.PathValue("name")
	if name != "" {
		if _, err := h.api.do(r, call{method: http.MethodGet, path: "/replication/policies/" + url.PathEscape(name)}, &p); err != nil {
			return "", err
		}
		v.Title = v.L.T("access.repl.editTitle", p.Name)
	} else {
		v.Title = v.L.T("access.repl.newTitle")
	}
	v.Data = map[string]any{"Policy": p, "Edit": name != "", "Registries": regs,
		"Triggers": []string{"manual", "scheduled", "event_based"}}
	return "accpolicy", nil
}

// accSavePolicy is POST /admin/replication/policies (create) and
// POST /admin/replication/policies/{name} (replace, keeping what the form
// does not show: speed, attempts, retries).
func (h *Handler) accSavePolicy(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	name := r.PathValue("name")
	var p accPolicy
	if name != "" {
		if _, err := h.api.do(r, call{method: http.MethodGet, path: "/replication/policies/" + url.PathEscape(name)}, &p); err != nil {
			return "", "", err
		}
	} else {
		p.Name = strings.TrimSpace(r.PostFormValue("name"))
	}
	f := r.PostFormValue
	p.Description = strings.TrimSpace(f("description"))
	p.SrcRegistry, p.DestRegistry = nil, nil
	if s := f("src_registry"); s != "" {
		p.SrcRegistry = &accRef{Name: s}
	}
	if s := f("dest_registry"); s != "" {
		p.DestRegistry = &accRef{Name: s}
	}
	p.DestNamespace = strings.TrimSpace(f("dest_namespace"))
	p.Flatten = 0
	if s := strings.TrimSpace(f("flatten")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return "", "", accBadInput(localeOf(r).T("access.repl.flatten") + ": " + s)
		}
		p.Flatten = n
	}
	p.Filters = []accFilter{}
	add := func(typ, decoration string, v any) {
		raw, _ := json.Marshal(v)
		p.Filters = append(p.Filters, accFilter{Type: typ, Value: raw, Decoration: decoration})
	}
	for _, field := range []struct{ form, typ, decoration string }{
		{"f_name", "name", "matches"}, {"f_tag", "tag", "matches"}, {"f_tag_ex", "tag", "excludes"}, {"f_resource", "artifact_type", "matches"},
	} {
		for _, v := range strings.Split(f(field.form), ",") {
			if v = strings.TrimSpace(v); v != "" {
				add(field.typ, field.decoration, v)
			}
		}
	}
	var labels []string
	for _, v := range strings.Split(f("f_label"), ",") {
		if v = strings.TrimSpace(v); v != "" {
			labels = append(labels, v)
		}
	}
	if len(labels) > 0 {
		add("label", "matches", labels)
	}
	p.Trigger = &accTrigger{Type: f("trigger")}
	if c := strings.TrimSpace(f("cron")); c != "" && p.Trigger.Type == "scheduled" {
		p.Trigger.TriggerSettings = &struct {
			Cron string `json:"cron"`
		}{Cron: c}
	}
	p.Override = f("override") == "on"
	p.ReplicateDeletion = f("replicate_deletion") == "on"
	p.Enabled = f("enabled") == "on"
	p.Creator, p.CreationTime = "", ""
	if name != "" {
		if _, err := h.api.do(r, call{method: http.MethodPut, path: "/replication/policies/" + url.PathEscape(name), body: p}, nil); err != nil {
			return "", "", err
		}
	} else if _, err := h.api.do(r, call{method: http.MethodPost, path: "/replication/policies", body: p}, nil); err != nil {
		return "", "", err
	}
	return "/admin/replication", "access.repl.made", nil
}

// accDeletePolicy is POST /admin/replication/policies/{name}/delete.
func (h *Handler) accDeletePolicy(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	if _, err := h.api.do(r, call{method: http.MethodDelete, path: "/replication/policies/" + url.PathEscape(r.PathValue("name"))}, nil); err != nil {
		return "", "", err
	}
	return "/admin/replication", "access.repl.deleted", nil
}

// accRunPolicy is POST /admin/replication/policies/{name}/run: a manual
// execution, then its page.
func (h *Handler) accRunPolicy(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	a, err := h.api.do(r, call{method: http.MethodPost, path: "/replication/executions", body: map[string]string{"policy_name": r.PathValue("name")}}, nil)
	if err != nil {
		return "", "", err
	}
	next := "/admin/replication/executions"
	if id := path.Base(a.header.Get("Location")); id != "" {
		if _, err := strconv.ParseUint(id, 10, 64); err == nil {
			next += "/" + id
		}
	}
	return next, "access.repl.started", nil
}

// accExecution is a replication execution as the API answers it.
type accExecution struct {
	ID         uint64 `json:"id"`
	PolicyName string `json:"policy_name"`
	Status     string `json:"status"`
	StatusText string `json:"status_text"`
	Trigger    string `json:"trigger"`
	Total      int    `json:"total"`
	Failed     int    `json:"failed"`
	Succeed    int    `json:"succeed"`
	InProgress int    `json:"in_progress"`
	Stopped    int    `json:"stopped"`
	StartTime  string `json:"start_time"`
	EndTime    string `json:"end_time"`
	Bytes      int64  `json:"bytes"`
	Artifacts  int    `json:"artifacts"`
	Progress   int    `json:"progress"`
}

// Running reports an execution not yet ended.
func (e accExecution) Running() bool { return e.Status == "Pending" || e.Status == "InProgress" }

// accExecutionsPage is GET /admin/replication/executions?policy=&status=&trigger=&page=:
// the executions, newest first, refreshing while one runs.
func (h *Handler) accExecutionsPage(_ http.ResponseWriter, r *http.Request, v *view) (string, error) {
	q := r.URL.Query()
	var list []accExecution
	a, err := h.api.do(r, call{method: http.MethodGet, path: "/replication/executions", query: listQuery(r, url.Values{
		"policy_name": {q.Get("policy")}, "status": {q.Get("status")}, "trigger": {q.Get("trigger")}})}, &list)
	if err != nil {
		return "", err
	}
	running := false
	for _, e := range list {
		running = running || e.Running()
	}
	var policies []accPolicy
	if _, err := h.api.do(r, call{method: http.MethodGet, path: "/replication/policies", query: url.Values{"page_size": {"100"}}}, &policies); err != nil {
		return "", err
	}
	v.Title = v.L.T("access.repl.executions")
	v.Data = map[string]any{"Rows": list, "Running": running, "Pager": newPager(r, a.total()), "Policies": policies,
		"Policy": q.Get("policy"), "Status": q.Get("status"), "Trigger": q.Get("trigger"),
		"Statuses": []string{"Pending", "InProgress", "Succeed", "Failed", "Stopped"}, "Triggers": []string{"manual", "scheduled", "event_based"}}
	return "accexecutions", nil
}

// accTask is a replication task as the API answers it.
type accTask struct {
	ID           uint64 `json:"id"`
	ResourceType string `json:"resource_type"`
	SrcResource  string `json:"src_resource"`
	DstResource  string `json:"dst_resource"`
	Operation    string `json:"operation"`
	Status       string `json:"status"`
	StartTime    string `json:"start_time"`
	EndTime      string `json:"end_time"`
	Bytes        int64  `json:"bytes"`
	Attempts     int    `json:"attempts"`
	Error        string `json:"error"`
	Log          string `json:"-"`
}

// accExecutionPage is GET /admin/replication/executions/{id}?page=: an
// execution, its tasks and their logs, refreshing while it runs.
func (h *Handler) accExecutionPage(_ http.ResponseWriter, r *http.Request, v *view) (string, error) {
	id := r.PathValue("id")
	if _, err := strconv.ParseUint(id, 10, 64); err != nil {
		return "", &APIError{Status: http.StatusNotFound, Code: "NOT_FOUND", Message: "execution " + id}
	}
	base := "/replication/executions/" + id
	var e accExecution
	if _, err := h.api.do(r, call{method: http.MethodGet, path: base}, &e); err != nil {
		return "", err
	}
	var tasks []accTask
	a, err := h.api.do(r, call{method: http.MethodGet, path: base + "/tasks", query: listQuery(r, nil)}, &tasks)
	if err != nil {
		return "", err
	}
	if r.Header.Get(fragmentHeader) == "" { // logs on the whole page only
		for i := range tasks {
			if ans, err := h.api.do(r, call{method: http.MethodGet, path: base + "/tasks/" + strconv.FormatUint(tasks[i].ID, 10) + "/log"}, nil); err == nil {
				tasks[i].Log = string(ans.body)
			}
		}
	}
	v.Title = v.L.T("access.repl.execTitle", e.ID)
	v.Data = map[string]any{"E": e, "Tasks": tasks, "Pager": newPager(r, a.total())}
	return "accexecution", nil
}

// accExecutionPath is the portal's page of the request's execution.
func accExecutionPath(r *http.Request) string {
	return "/admin/replication/executions/" + url.PathEscape(r.PathValue("id"))
}

// accStopExecution is POST /admin/replication/executions/{id}/stop.
func (h *Handler) accStopExecution(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	if _, err := h.api.do(r, call{method: http.MethodPut, path: "/replication/executions/" + url.PathEscape(r.PathValue("id")), body: map[string]string{}}, nil); err != nil {
		return "", "", err
	}
	return accExecutionPath(r), "access.repl.stopAsked", nil
}

// accRetryExecution is POST /admin/replication/executions/{id}/retry.
func (h *Handler) accRetryExecution(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	if _, err := h.api.do(r, call{method: http.MethodPost, path: "/replication/executions/" + url.PathEscape(r.PathValue("id")) + "/retry", body: map[string]string{}}, nil); err != nil {
		return "", "", err
	}
	return accExecutionPath(r), "access.repl.retried", nil
}
