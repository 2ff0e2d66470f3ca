package ui

import (
	"encoding/pem"
	"errors"
	"math"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
)

var _ = addMessages(map[string]msg{
	"policies.title":                  {"Policies", "策略"},
	"policies.quota":                  {"Quota", "配额"},
	"policies.quotaUsed":              {"Storage used / limit", "已用存储 / 上限"},
	"policies.quotaHidden":            {"Only system administrators see and change quotas.", "只有系统管理员可以查看和修改配额。"},
	"policies.quotaLimit":             {"Storage limit (GiB, empty for unlimited)", "存储上限（GiB，留空表示不限）"},
	"policies.quotaSaved":             {"Quota saved.", "配额已保存。"},
	"policies.quotaBad":               {"The storage limit must be a positive number of GiB, or empty.", "存储上限必须是正的 GiB 数，或留空。"},
	"policies.retention":              {"Tag retention", "Tag 保留"},
	"policies.retentionNone":          {"No retention policy yet: every artifact is kept. Add rules to keep only what they select.", "还没有保留策略：所有制品都会保留。添加规则后，只保留规则选中的制品。"},
	"policies.retentionHelp":          {"An artifact is kept when any enabled rule keeps it; artifacts in the repositories the rules select that no rule keeps are deleted when the policy runs. Patterns are doublestar: ** matches everything, * one path segment, {a,b} either.", "只要任一启用的规则保留某个制品，它就会被保留；规则选中的仓库中没有被任何规则保留的制品会在策略运行时被删除。模式为 doublestar：** 匹配全部，* 匹配一段路径，{a,b} 匹配其一。"},
	"policies.rule":                   {"Rule %d", "规则 %d"},
	"policies.ruleNew":                {"Add another rule", "再添加一条规则"},
	"policies.ruleTemplate":           {"Keep", "保留"},
	"policies.ruleRemove":             {"— remove this rule —", "— 删除此规则 —"},
	"policies.ruleUnused":             {"— no rule —", "— 不添加 —"},
	"policies.ruleCount":              {"Number (artifacts or days)", "数量（制品个数或天数）"},
	"policies.ruleRepos":              {"Repositories", "仓库"},
	"policies.ruleTags":               {"Tags", "Tag"},
	"policies.ruleUntagged":           {"Untagged artifacts too", "包括无 Tag 的制品"},
	"policies.ruleDisabled":           {"Disabled", "已停用"},
	"policies.matches":                {"matching", "匹配"},
	"policies.excludes":               {"excluding", "排除"},
	"policies.repoDecoration":         {"Repositories: match or exclude", "仓库：匹配或排除"},
	"policies.tagDecoration":          {"Tags: match or exclude", "Tag：匹配或排除"},
	"policies.repoPattern":            {"Repository pattern", "仓库模式"},
	"policies.tagPattern":             {"Tag pattern", "Tag 模式"},
	"policies.tpl.latestPushedK":      {"the most recently pushed %s artifacts", "最近推送的 %s 个制品"},
	"policies.tpl.latestPulledN":      {"the most recently pulled %s artifacts", "最近拉取的 %s 个制品"},
	"policies.tpl.nDaysSinceLastPush": {"artifacts pushed within the last %s days", "最近 %s 天内推送的制品"},
	"policies.tpl.nDaysSinceLastPull": {"artifacts pulled within the last %s days", "最近 %s 天内拉取的制品"},
	"policies.retentionEdit":          {"Edit the policy", "编辑策略"},
	"policies.tpl.always":             {"always", "全部保留"},
	"policies.schedule":               {"Schedule (cron with seconds, empty for none; 0 0 0 * * * is every midnight)", "定时（带秒的 cron 表达式，留空表示不定时；0 0 0 * * * 表示每天午夜）"},
	"policies.scheduleNone":           {"No schedule: runs only when started.", "未设置定时：仅在手动启动时运行。"},
	"policies.scheduleIs":             {"Schedule", "定时"},
	"policies.retentionSave":          {"Save retention policy", "保存保留策略"},
	"policies.retentionSaved":         {"Retention policy saved.", "保留策略已保存。"},
	"policies.retentionNoRule":        {"A retention policy needs at least one rule.", "保留策略至少需要一条规则。"},
	"policies.retentionBadCount":      {"Rule %d: the number must be a whole number.", "规则 %d：数量必须是整数。"},
	"policies.retentionDelete":        {"Delete retention policy", "删除保留策略"},
	"policies.retentionDeleted":       {"Retention policy deleted.", "保留策略已删除。"},
	"policies.runNow":                 {"Run now", "立即运行"},
	"policies.dryRun":                 {"Dry run", "模拟运行"},
	"policies.started":                {"Retention run started.", "保留策略已开始运行。"},
	"policies.history":                {"Runs", "运行记录"},
	"policies.historyNone":            {"No run yet.", "还没有运行记录。"},
	"policies.exec":                   {"Run", "运行"},
	"policies.execTitle":              {"Retention run %d", "保留策略运行 %d"},
	"policies.execKind":               {"Kind", "类型"},
	"policies.execDry":                {"Dry run", "模拟运行"},
	"policies.execReal":               {"Real run", "实际运行"},
	"policies.execTrigger":            {"Trigger", "触发方式"},
	"policies.execStatus":             {"Status", "状态"},
	"policies.execStart":              {"Started", "开始时间"},
	"policies.execEnd":                {"Ended", "结束时间"},
	"policies.execCounts":             {"Retained / total", "保留 / 总数"},
	"policies.execDeleted":            {"Deleted", "已删除"},
	"policies.execWouldDelete":        {"Would delete", "将删除"},
	"policies.execTasks":              {"Repositories", "仓库"},
	"policies.execNoTask":             {"No repository processed yet.", "还没有处理任何仓库。"},
	"policies.execBack":               {"Back to the policies", "返回策略"},
	"policies.execNotFound":           {"No such run of this project's retention policy.", "该项目的保留策略没有这次运行。"},
	"policies.taskRepo":               {"Repository", "仓库"},
	"policies.status.Pending":         {"Pending", "等待中"},
	"policies.status.Running":         {"Running", "运行中"},
	"policies.status.Succeed":         {"Succeeded", "成功"},
	"policies.status.Failed":          {"Failed", "失败"},
	"policies.immutable":              {"Tag immutability", "不可变 Tag"},
	"policies.immutableHelp":          {"A tag an enabled rule selects cannot be moved, overwritten or deleted.", "启用的规则选中的 Tag 不能被移动、覆盖或删除。"},
	"policies.immutableNone":          {"No immutability rule.", "没有不可变规则。"},
	"policies.immutableAdd":           {"Add rule", "添加规则"},
	"policies.immutableAdded":         {"Immutability rule added.", "不可变规则已添加。"},
	"policies.immutableSaved":         {"Immutability rule saved.", "不可变规则已保存。"},
	"policies.immutableDeleted":       {"Immutability rule deleted.", "不可变规则已删除。"},
	"policies.immutableMissing":       {"That immutability rule no longer exists.", "该不可变规则已不存在。"},
	"policies.state":                  {"State", "状态"},
	"policies.enabled":                {"Enabled", "已启用"},
	"policies.disabled":               {"Disabled", "已停用"},
	"policies.enable":                 {"Enable", "启用"},
	"policies.disable":                {"Disable", "停用"},
	"policies.trust":                  {"Content trust", "内容信任"},
	"policies.trustHelp":              {"When on, only artifacts with a cosign signature from one of these keys or keyless identities can be pulled.", "开启后，只有带有以下公钥或无密钥身份之一所做 cosign 签名的制品才能被拉取。"},
	"policies.trustUnavailable":       {"This server keeps no content trust settings.", "此服务器不支持内容信任设置。"},
	"policies.trustEnabled":           {"Require a signature to pull", "拉取时要求签名"},
	"policies.trustKeys":              {"Public keys (PEM, one block after another)", "公钥（PEM 格式，可连续粘贴多个）"},
	"policies.trustIdentities":        {"Keyless identities, one per line: issuer, a space, then the subject (or ~ and a regular expression the whole subject must match)", "无密钥身份，每行一个：签发者、空格，再加主体（或 ~ 加上必须完整匹配主体的正则表达式）"},
	"policies.trustSaved":             {"Content trust saved.", "内容信任已保存。"},
	"policies.trustOn":                {"Signatures required", "要求签名"},
	"policies.trustOff":               {"Signatures not required", "不要求签名"},
	"policies.trustCounts":            {"%d keys, %d keyless identities", "%d 个公钥，%d 个无密钥身份"},
	"policies.scanning":               {"Vulnerability scanning", "漏洞扫描"},
	"policies.autoScan":               {"Scan artifacts automatically when pushed", "推送时自动扫描制品"},
	"policies.preventVul":             {"Prevent pulling vulnerable artifacts", "阻止拉取有漏洞的制品"},
	"policies.severity":               {"Prevent from this severity up", "阻止的最低严重程度"},
	"policies.sev.critical":           {"Critical", "危急"},
	"policies.sev.high":               {"High", "严重"},
	"policies.sev.medium":             {"Medium", "中等"},
	"policies.sev.low":                {"Low", "较低"},
	"policies.sev.none":               {"None (any)", "无（任意）"},
	"policies.preventUnscanned":       {"Prevent pulling artifacts not scanned yet", "阻止拉取尚未扫描的制品"},
	"policies.scanSaved":              {"Scanning settings saved.", "扫描设置已保存。"},
	"policies.allowlist":              {"CVE allowlist", "CVE 白名单"},
	"policies.allowlistHelp":          {"Vulnerabilities listed here do not prevent pulls.", "此处列出的漏洞不会阻止拉取。"},
	"policies.allowlistIDs":           {"CVE ids, one per line", "CVE 编号，每行一个"},
	"policies.allowlistExpiry":        {"Expires on (empty for never)", "过期日期（留空表示永不过期）"},
	"policies.allowlistSaved":         {"CVE allowlist saved.", "CVE 白名单已保存。"},
	"policies.allowlistBadDate":       {"The expiry date must be a date (YYYY-MM-DD).", "过期日期必须是日期（YYYY-MM-DD）。"},
	"policies.allowlistNever":         {"never expires", "永不过期"},
	"policies.allowlistUntil":         {"expires %s", "%s 过期"},
	"policies.scanner":                {"Scanner", "扫描器"},
	"policies.scannerCurrent":         {"This project's scanner", "此项目的扫描器"},
	"policies.scannerDefault":         {"the default scanner", "默认扫描器"},
	"policies.scannerNone":            {"No scanner available.", "没有可用的扫描器。"},
	"policies.scannerSaved":           {"Scanner saved.", "扫描器已保存。"},
	"policies.scannerOnlyAdmin":       {"Only system administrators choose among the registered scanners.", "只有系统管理员可以在已注册的扫描器中选择。"},
})

// policyRoutes lists the pages of a project's policies.
func (h *Handler) policyRoutes() []route {
	return []route{
		{"GET /projects/{project}/policies", h.page("projects", h.policiesPage)},
		{"GET /projects/{project}/policies/retention/{eid}", h.page("projects", h.polRunPage)},
		{"POST /projects/{project}/policies/quota", h.action(h.polSetQuota)},
		{"POST /projects/{project}/policies/retention", h.action(h.polSaveRetention)},
		{"POST /projects/{project}/policies/retention/delete", h.action(h.polDeleteRetention)},
		{"POST /projects/{project}/policies/retention/run", h.action(h.polRunRetention)},
		{"POST /projects/{project}/policies/immutable", h.action(h.polAddImmutable)},
		{"POST /projects/{project}/policies/immutable/{id}/toggle", h.action(h.polToggleImmutable)},
		{"POST /projects/{project}/policies/immutable/{id}/delete", h.action(h.polDeleteImmutable)},
		{"POST /projects/{project}/policies/trust", h.action(h.polSetTrust)},
		{"POST /projects/{project}/policies/scanning", h.action(h.polSetScanning)},
		{"POST /projects/{project}/policies/allowlist", h.action(h.polSetAllowlist)},
		{"POST /projects/{project}/policies/scanner", h.action(h.polSetScanner)},
	}
}

// polTemplates are the rule templates, in the order the form
// offers them (retention's names).
var polTemplates = []string{"latestPushedK", "latestPulledN", "nDaysSinceLastPush", "nDaysSinceLastPull", "always"}

// polSeverities are the levels a project may block from, highest first.
var polSeverities = []string{"critical", "high", "medium", "low", "none"}

// polSelector is the API's selector of retention and immutability
// rules: a doublestar pattern that names match or must not match.
type polSelector struct {
	Kind       string `json:"kind"`
	Decoration string `json:"decoration"`
	Pattern    string `json:"pattern"`
	Extras     string `json:"extras,omitempty"`
}

// polRule is a retention or immutability rule as the API answers it.
type polRule struct {
	ID             int64                    `json:"id"`
	Priority       int                      `json:"priority"`
	Disabled       bool                     `json:"disabled"`
	Action         string                   `json:"action"`
	Template       string                   `json:"template"`
	Params         map[string]any           `json:"params,omitempty"`
	TagSelectors   []polSelector            `json:"tag_selectors"`
	ScopeSelectors map[string][]polSelector `json:"scope_selectors"`
}

// polTrigger is a retention policy's schedule.
type polTrigger struct {
	Kind     string `json:"kind"`
	Settings struct {
		Cron string `json:"cron"`
	} `json:"settings"`
}

// polRetention is a project's retention policy as the API answers it
// (its id is the project's id).
type polRetention struct {
	ID        uint64      `json:"id"`
	Algorithm string      `json:"algorithm"`
	Rules     []polRule   `json:"rules"`
	Trigger   *polTrigger `json:"trigger,omitempty"`
	Scope     struct {
		Level string `json:"level"`
		Ref   uint64 `json:"ref"`
	} `json:"scope"`
}

// Schedule is the policy's cron spec, or "".
func (p *polRetention) Schedule() string {
	if p == nil || p.Trigger == nil {
		return ""
	}
	return p.Trigger.Settings.Cron
}

// polRun is one run of a retention policy.
type polRun struct {
	ID        uint64 `json:"id"`
	PolicyID  uint64 `json:"policy_id"`
	StartTime string `json:"start_time"`
	EndTime   string `json:"end_time"`
	Status    string `json:"status"`
	Trigger   string `json:"trigger"`
	DryRun    bool   `json:"dry_run"`
	Total     int    `json:"total"`
	Retained  int    `json:"retained"`
	Deleted   int    `json:"deleted"`
}

// Live reports a run still going (its page refreshes itself).
func (e polRun) Live() bool { return e.Status == "Pending" || e.Status == "Running" }

// polTask is one repository's part of a run.
type polTask struct {
	ID         int    `json:"id"`
	Repository string `json:"repository"`
	Status     string `json:"status"`
	Total      int    `json:"total"`
	Retained   int    `json:"retained"`
	Deleted    int    `json:"deleted"`
	Skipped    int    `json:"skipped"`
	Artifacts  []struct {
		Digest string   `json:"digest"`
		Tags   []string `json:"tags"`
	} `json:"deleted_artifacts"`
}

// polRuleRow is a retention rule as the form shows it.
type polRuleRow struct {
	N                           int // from 0
	ID                          int64
	Template                    string
	Count                       string
	RepoDecoration, RepoPattern string
	TagDecoration, TagPattern   string
	Untagged, Disabled          bool
	New                         bool // the empty row to add a rule
}

// polImmutableRow is an immutability rule as the page lists it.
type polImmutableRow struct {
	ID                          int64
	Disabled                    bool
	RepoDecoration, RepoPattern string
	TagDecoration, TagPattern   string
}

// polTrust is a project's content trust settings.
type polTrust struct {
	Enabled    bool          `json:"enabled"`
	Keys       []string      `json:"keys"`
	Identities []polIdentity `json:"identities"`
}

// polIdentity is a keyless signer.
type polIdentity struct {
	Issuer        string `json:"issuer"`
	Subject       string `json:"subject,omitempty"`
	SubjectRegExp string `json:"subject_regexp,omitempty"`
}

// polScanner is a scanner registration as the API answers it.
type polScanner struct {
	UUID      string `json:"uuid"`
	Name      string `json:"name"`
	Disabled  bool   `json:"disabled"`
	IsDefault bool   `json:"is_default"`
}

// polAllowlist is a project's CVE allowlist.
type polAllowlist struct {
	Items []struct {
		CVEID     string `json:"cve_id"`
		ExpiresAt int64  `json:"expires_at"`
	} `json:"items"`
}

// polProjectAllowlist is what the policies page reads of a project
// beyond projectJSON.
type polProjectAllowlist struct {
	CVEAllowlist *polAllowlist `json:"cve_allowlist"`
}

// polProjectPath is the API's path of a project.
func polProjectPath(name string) string { return "/projects/" + url.PathEscape(name) }

// polURL is the portal's policies page of a project.
func polURL(project string) string { return "/projects/" + url.PathEscape(project) + "/policies" }

// polRetentionPath is the API's path of a project's retention policy.
func polRetentionPath(pid uint64) string { return "/retentions/" + strconv.FormatUint(pid, 10) }

// polProjectID returns the id of a project the person sees.
func (h *Handler) polProjectID(r *http.Request, project string) (uint64, error) {
	var p projectJSON
	if _, err := h.api.do(r, call{method: http.MethodGet, path: polProjectPath(project)}, &p); err != nil {
		return 0, err
	}
	return p.ProjectID, nil
}

// polRetentionOf reads a project's retention policy: nil when it has none
// (or the server runs no retention).
func (h *Handler) polRetentionOf(r *http.Request, pid uint64) (*polRetention, error) {
	var pol polRetention
	if _, err := h.api.do(r, call{method: http.MethodGet, path: polRetentionPath(pid)}, &pol); err != nil {
		if s := statusOf(err); s == http.StatusNotFound || s == http.StatusNotImplemented {
			return nil, nil
		}
		return nil, err
	}
	return &pol, nil
}

// polUndecorated turns the API's "repoMatches"/"matches" into "matches" or
// "excludes".
func polUndecorated(d string) string {
	if strings.HasSuffix(strings.ToLower(d), "excludes") {
		return "excludes"
	}
	return "matches"
}

// selectors returns a rule's repository and tag selectors.
func (p polRule) selectors() (repo, tag polSelector) {
	if s := p.ScopeSelectors["repository"]; len(s) > 0 {
		repo = s[0]
	}
	if len(p.TagSelectors) > 0 {
		tag = p.TagSelectors[0]
	}
	return repo, tag
}

// polRuleRows turns a policy's rules into the form's rows, with an empty row
// to add one (two for a project without a policy: one to fill, one more).
func polRuleRows(pol *polRetention) []polRuleRow {
	var rows []polRuleRow
	if pol != nil {
		for _, rule := range pol.Rules {
			repo, tag := rule.selectors()
			row := polRuleRow{N: len(rows), ID: rule.ID, Template: rule.Template, Disabled: rule.Disabled,
				RepoDecoration: polUndecorated(repo.Decoration), RepoPattern: repo.Pattern,
				TagDecoration: polUndecorated(tag.Decoration), TagPattern: tag.Pattern,
				Untagged: strings.Contains(strings.ReplaceAll(tag.Extras, " ", ""), `"untagged":true`)}
			if v, ok := rule.Params[rule.Template].(float64); ok {
				row.Count = strconv.FormatInt(int64(v), 10)
			}
			rows = append(rows, row)
		}
	}
	if len(rows) == 0 {
		rows = append(rows, polRuleRow{N: 0, Template: "latestPushedK", Count: "10", RepoDecoration: "matches", RepoPattern: "**", TagDecoration: "matches", TagPattern: "**"})
	}
	return append(rows, polRuleRow{N: len(rows), RepoDecoration: "matches", RepoPattern: "**", TagDecoration: "matches", TagPattern: "**", New: true})
}

// polRunsOf reads a page of a policy's runs; live reports one still
// going among them.
func (h *Handler) polRunsOf(r *http.Request, pid uint64) ([]polRun, pager, error) {
	var list []polRun
	a, err := h.api.do(r, call{method: http.MethodGet, path: polRetentionPath(pid) + "/executions", query: listQuery(r, nil)}, &list)
	if err != nil {
		if statusOf(err) == http.StatusNotImplemented {
			return nil, newPager(r, 0), nil
		}
		return nil, pager{}, err
	}
	return list, newPager(r, a.total()), nil
}

// polAnyLive reports a run still going.
func polAnyLive(list []polRun) bool {
	for _, e := range list {
		if e.Live() {
			return true
		}
	}
	return false
}

// policiesPage is GET /projects/{project}/policies?page=: the project's
// quota, retention policy and its runs (page: of the runs), immutability
// rules, content trust and scanning settings.
func (h *Handler) policiesPage(_ http.ResponseWriter, r *http.Request, v *view) (string, error) {
	pv, err := h.project(r, v, "policies")
	if err != nil {
		return "", err
	}
	name := pv.Project.Name
	pid := pv.Project.ProjectID
	data := map[string]any{"P": pv, "Templates": polTemplates, "Severities": polSeverities}
	v.Data = data
	runs, pg, err := h.polRunsOf(r, pid)
	if err != nil {
		return "", err
	}
	data["Runs"], data["RunsPager"], data["Live"] = runs, pg, polAnyLive(runs)
	if r.Header.Get(fragmentHeader) != "" {
		return "policies", nil // only the runs refresh
	}
	v.Title = name + " · " + v.L.T("policies.title")
	pv.Quota = h.quotaOf(r, name)
	if pv.Quota != nil {
		if hard := pv.Quota.Hard["storage"]; hard > 0 {
			data["QuotaGiB"] = strconv.FormatFloat(float64(hard)/(1<<30), 'f', -1, 64)
		}
	}

	pol, err := h.polRetentionOf(r, pid)
	if err != nil {
		return "", err
	}
	data["Retention"], data["Rules"] = pol, polRuleRows(pol)

	var imm []polRule
	if _, err := h.api.do(r, call{method: http.MethodGet, path: polProjectPath(name) + "/immutabletagrules", query: url.Values{"page_size": {"100"}}}, &imm); err != nil && statusOf(err) != http.StatusNotImplemented {
		return "", err
	}
	rows := make([]polImmutableRow, 0, len(imm))
	for _, rule := range imm {
		repo, tag := rule.selectors()
		rows = append(rows, polImmutableRow{ID: rule.ID, Disabled: rule.Disabled, RepoDecoration: polUndecorated(repo.Decoration), RepoPattern: repo.Pattern,
			TagDecoration: polUndecorated(tag.Decoration), TagPattern: tag.Pattern})
	}
	data["Immutable"] = rows

	var tr polTrust
	if _, err := h.api.do(r, call{method: http.MethodGet, path: polProjectPath(name) + "/trust"}, &tr); err == nil {
		data["Trust"] = &tr
		data["TrustKeys"] = strings.Join(tr.Keys, "\n")
		data["TrustIdentities"] = polFormatIdentities(tr.Identities)
	} else if statusOf(err) != http.StatusNotImplemented {
		return "", err
	}

	var al polProjectAllowlist
	if _, err := h.api.do(r, call{method: http.MethodGet, path: polProjectPath(name)}, &al); err != nil {
		return "", err
	}
	var ids []string
	expiry := ""
	if al.CVEAllowlist != nil {
		for _, it := range al.CVEAllowlist.Items {
			ids = append(ids, it.CVEID)
			if it.ExpiresAt > 0 && expiry == "" {
				expiry = time.Unix(it.ExpiresAt, 0).UTC().Format(time.DateOnly)
			}
		}
	}
	data["AllowIDs"], data["AllowExpiry"] = strings.Join(ids, "\n"), expiry

	var cur polScanner
	if _, err := h.api.do(r, call{method: http.MethodGet, path: polProjectPath(name) + "/scanner"}, &cur); err == nil {
		data["Scanner"] = &cur
	}
	if v.User != nil && v.User.Admin {
		var all []polScanner
		if _, err := h.api.do(r, call{method: http.MethodGet, path: "/scanners", query: url.Values{"page_size": {"100"}}}, &all); err == nil {
			data["Scanners"] = all
		}
	}
	return "policies", nil
}

// polFormatIdentities writes keyless identities one per line: issuer, a
// space, the subject or ~ and its expression.
func polFormatIdentities(ids []polIdentity) string {
	lines := make([]string, 0, len(ids))
	for _, id := range ids {
		if id.SubjectRegExp != "" {
			lines = append(lines, id.Issuer+" ~"+id.SubjectRegExp)
		} else {
			lines = append(lines, id.Issuer+" "+id.Subject)
		}
	}
	return strings.Join(lines, "\n")
}

// polParseIdentities reads what polFormatIdentities writes (the API checks
// each identity).
func polParseIdentities(text string) []polIdentity {
	out := []polIdentity{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		issuer, subject, _ := strings.Cut(line, " ")
		subject = strings.TrimSpace(subject)
		id := polIdentity{Issuer: issuer}
		if expr, ok := strings.CutPrefix(subject, "~"); ok {
			id.SubjectRegExp = expr
		} else {
			id.Subject = subject
		}
		out = append(out, id)
	}
	return out
}

// polSplitPEM splits pasted PEM blocks into one key each; text that is not
// PEM goes as it is, for the API to say what is wrong with it.
func polSplitPEM(text string) []string {
	out := []string{}
	rest := []byte(strings.TrimSpace(text))
	for len(rest) > 0 {
		block, next := pem.Decode(rest)
		if block == nil {
			out = append(out, string(rest))
			break
		}
		out = append(out, strings.TrimSpace(string(pem.EncodeToMemory(block))))
		rest = []byte(strings.TrimSpace(string(next)))
	}
	return out
}

// polRunPage is GET /projects/{project}/policies/retention/{eid}?page=:
// one run of the retention policy and its repositories, live while it
// runs.
func (h *Handler) polRunPage(_ http.ResponseWriter, r *http.Request, v *view) (string, error) {
	pv, err := h.project(r, v, "policies")
	if err != nil {
		return "", err
	}
	eid, err := strconv.ParseUint(r.PathValue("eid"), 10, 64)
	if err != nil {
		return "", &APIError{Status: http.StatusNotFound, Message: v.L.T("policies.execNotFound")}
	}
	base := polRetentionPath(pv.Project.ProjectID) + "/executions"
	var run *polRun
	for page := 1; run == nil && page <= 100; page++ {
		var list []polRun
		if _, err := h.api.do(r, call{method: http.MethodGet, path: base, query: url.Values{"page": {strconv.Itoa(page)}, "page_size": {"100"}}}, &list); err != nil {
			return "", err
		}
		for i := range list {
			if list[i].ID == eid {
				run = &list[i]
			}
		}
		if len(list) < 100 {
			break
		}
	}
	if run == nil {
		return "", &APIError{Status: http.StatusNotFound, Message: v.L.T("policies.execNotFound")}
	}
	var tasks []polTask
	a, err := h.api.do(r, call{method: http.MethodGet, path: base + "/" + strconv.FormatUint(eid, 10) + "/tasks", query: listQuery(r, nil)}, &tasks)
	if err != nil {
		return "", err
	}
	v.Title = pv.Project.Name + " · " + v.L.T("policies.execTitle", eid)
	pv.Quota = h.quotaOf(r, pv.Project.Name)
	v.Data = map[string]any{"P": pv, "Run": run, "Tasks": tasks, "Pager": newPager(r, a.total())}
	return "retention", nil
}

// polSetQuota is POST /projects/{project}/policies/quota: storage_limit in
// GiB (empty: unlimited), a system administrator's only (the API says).
func (h *Handler) polSetQuota(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	project := r.PathValue("project")
	limit := int64(-1)
	if s := strings.TrimSpace(r.PostFormValue("storage_limit")); s != "" {
		gib, err := strconv.ParseFloat(s, 64)
		if err != nil || gib <= 0 || gib > math.MaxInt64/(1<<30) || math.IsNaN(gib) {
			return "", "", errors.New(localeOf(r).T("policies.quotaBad"))
		}
		limit = int64(gib * (1 << 30))
	}
	pid, err := h.polProjectID(r, project)
	if err != nil {
		return "", "", err
	}
	body := map[string]any{"hard": map[string]int64{"storage": limit}}
	if _, err := h.api.do(r, call{method: http.MethodPut, path: "/quotas/" + strconv.FormatUint(pid, 10), body: body}, nil); err != nil {
		return "", "", err
	}
	return polURL(project) + "#quota", "policies.quotaSaved", nil
}

// polDecorated returns the API's decoration of a selector from the form's
// "matches"/"excludes" (repository selectors take the "repo" prefix).
func polDecorated(form string, repo bool) string {
	d := "matches"
	if form == "excludes" {
		d = "excludes"
	}
	if repo {
		return "repo" + strings.ToUpper(d[:1]) + d[1:]
	}
	return d
}

// polPattern is a form's pattern, "**" when left empty.
func polPattern(s string) string {
	if s = strings.TrimSpace(s); s == "" {
		return "**"
	}
	return s
}

// polSaveRetention is POST /projects/{project}/policies/retention: rows
// (how many rule rows), rule_N_template (empty: no rule), rule_N_count,
// rule_N_id, rule_N_repo_dec, rule_N_repo, rule_N_tag_dec, rule_N_tag,
// rule_N_untagged, rule_N_disabled; schedule (cron). It makes the
// project's policy or replaces it.
func (h *Handler) polSaveRetention(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	project := r.PathValue("project")
	l := localeOf(r)
	n, _ := strconv.Atoi(r.PostFormValue("rows"))
	n = min(max(n, 0), 32)
	pol := polRetention{Algorithm: "or", Rules: []polRule{}}
	for i := range n {
		f := func(k string) string { return strings.TrimSpace(r.PostFormValue("rule_" + strconv.Itoa(i) + "_" + k)) }
		tpl := f("template")
		if tpl == "" {
			continue
		}
		rule := polRule{Action: "retain", Template: tpl, Params: map[string]any{}, Disabled: f("disabled") == "on"}
		rule.ID, _ = strconv.ParseInt(f("id"), 10, 64)
		if tpl != "always" {
			c, err := strconv.Atoi(f("count"))
			if err != nil {
				return "", "", errors.New(l.T("policies.retentionBadCount", len(pol.Rules)+1))
			}
			rule.Params[tpl] = c
		}
		extras := `{"untagged":false}`
		if f("untagged") == "on" {
			extras = `{"untagged":true}`
		}
		rule.TagSelectors = []polSelector{{Kind: "doublestar", Decoration: polDecorated(f("tag_dec"), false), Pattern: polPattern(f("tag")), Extras: extras}}
		rule.ScopeSelectors = map[string][]polSelector{"repository": {{Kind: "doublestar", Decoration: polDecorated(f("repo_dec"), true), Pattern: polPattern(f("repo"))}}}
		rule.Priority = len(pol.Rules) + 1
		pol.Rules = append(pol.Rules, rule)
	}
	if len(pol.Rules) == 0 {
		return "", "", errors.New(l.T("policies.retentionNoRule"))
	}
	if cron := strings.TrimSpace(r.PostFormValue("schedule")); cron != "" {
		pol.Trigger = &polTrigger{Kind: "Schedule"}
		pol.Trigger.Settings.Cron = cron
	}
	pid, err := h.polProjectID(r, project)
	if err != nil {
		return "", "", err
	}
	pol.Scope.Level, pol.Scope.Ref = "project", pid
	old, err := h.polRetentionOf(r, pid)
	if err != nil {
		return "", "", err
	}
	cl := call{method: http.MethodPost, path: "/retentions", body: pol}
	if old != nil {
		cl = call{method: http.MethodPut, path: polRetentionPath(pid), body: pol}
	}
	if _, err := h.api.do(r, cl, nil); err != nil {
		return "", "", err
	}
	return polURL(project) + "#retention", "policies.retentionSaved", nil
}

// polDeleteRetention is POST /projects/{project}/policies/retention/delete.
func (h *Handler) polDeleteRetention(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	project := r.PathValue("project")
	pid, err := h.polProjectID(r, project)
	if err != nil {
		return "", "", err
	}
	if _, err := h.api.do(r, call{method: http.MethodDelete, path: polRetentionPath(pid)}, nil); err != nil {
		return "", "", err
	}
	return polURL(project) + "#retention", "policies.retentionDeleted", nil
}

// polRunRetention is POST /projects/{project}/policies/retention/run with
// dry_run=true|false: it starts a run and goes to its page.
func (h *Handler) polRunRetention(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	project := r.PathValue("project")
	pid, err := h.polProjectID(r, project)
	if err != nil {
		return "", "", err
	}
	body := map[string]bool{"dry_run": r.PostFormValue("dry_run") == "true"}
	a, err := h.api.do(r, call{method: http.MethodPost, path: polRetentionPath(pid) + "/executions", body: body}, nil)
	if err != nil {
		return "", "", err
	}
	next := polURL(project) + "#runs"
	if eid, err := strconv.ParseUint(path.Base(a.header.Get("Location")), 10, 64); err == nil {
		next = polURL(project) + "/retention/" + strconv.FormatUint(eid, 10)
	}
	return next, "policies.started", nil
}

// polImmutableBody is the API's body of an immutability rule.
func polImmutableBody(repoDec, repo, tagDec, tag string, disabled bool) polRule {
	return polRule{Action: "immutable", Template: "immutable_template", Disabled: disabled,
		TagSelectors:   []polSelector{{Kind: "doublestar", Decoration: polDecorated(tagDec, false), Pattern: polPattern(tag)}},
		ScopeSelectors: map[string][]polSelector{"repository": {{Kind: "doublestar", Decoration: polDecorated(repoDec, true), Pattern: polPattern(repo)}}}}
}

// polAddImmutable is POST /projects/{project}/policies/immutable:
// repo_dec, repo, tag_dec, tag.
func (h *Handler) polAddImmutable(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	project := r.PathValue("project")
	body := polImmutableBody(r.PostFormValue("repo_dec"), r.PostFormValue("repo"), r.PostFormValue("tag_dec"), r.PostFormValue("tag"), false)
	if _, err := h.api.do(r, call{method: http.MethodPost, path: polProjectPath(project) + "/immutabletagrules", body: body}, nil); err != nil {
		return "", "", err
	}
	return polURL(project) + "#immutable", "policies.immutableAdded", nil
}

// polToggleImmutable is POST /projects/{project}/policies/immutable/{id}/toggle
// with disabled=true|false: the rule as the API has it, enabled or not.
func (h *Handler) polToggleImmutable(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	project := r.PathValue("project")
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	var list []polRule
	if _, err := h.api.do(r, call{method: http.MethodGet, path: polProjectPath(project) + "/immutabletagrules", query: url.Values{"page_size": {"100"}}}, &list); err != nil {
		return "", "", err
	}
	for _, rule := range list {
		if rule.ID != id {
			continue
		}
		repo, tag := rule.selectors()
		body := polImmutableBody(polUndecorated(repo.Decoration), repo.Pattern, polUndecorated(tag.Decoration), tag.Pattern, r.PostFormValue("disabled") == "true")
		body.ID = id
		if _, err := h.api.do(r, call{method: http.MethodPut, path: polProjectPath(project) + "/immutabletagrules/" + strconv.FormatInt(id, 10), body: body}, nil); err != nil {
			return "", "", err
		}
		return polURL(project) + "#immutable", "policies.immutableSaved", nil
	}
	return "", "", errors.New(localeOf(r).T("policies.immutableMissing"))
}

// polDeleteImmutable is POST /projects/{project}/policies/immutable/{id}/delete.
func (h *Handler) polDeleteImmutable(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	project := r.PathValue("project")
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if _, err := h.api.do(r, call{method: http.MethodDelete, path: polProjectPath(project) + "/immutabletagrules/" + strconv.FormatInt(id, 10)}, nil); err != nil {
		return "", "", err
	}
	return polURL(project) + "#immutable", "policies.immutableDeleted", nil
}

// polSetTrust is POST /projects/{project}/policies/trust: enabled (a
// checkbox), keys (PEM blocks), identities (one per line).
func (h *Handler) polSetTrust(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	project := r.PathValue("project")
	body := polTrust{Enabled: r.PostFormValue("enabled") == "on", Keys: polSplitPEM(r.PostFormValue("keys")),
		Identities: polParseIdentities(r.PostFormValue("identities"))}
	if _, err := h.api.do(r, call{method: http.MethodPut, path: polProjectPath(project) + "/trust", body: body}, nil); err != nil {
		return "", "", err
	}
	return polURL(project) + "#trust", "policies.trustSaved", nil
}

// polSetScanning is POST /projects/{project}/policies/scanning: auto_scan,
// prevent_vul, prevent_unscanned (checkboxes), severity.
func (h *Handler) polSetScanning(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	project := r.PathValue("project")
	flag := func(k string) string { return strconv.FormatBool(r.PostFormValue(k) == "on") }
	md := map[string]string{"auto_scan": flag("auto_scan"), "prevent_vul": flag("prevent_vul"), "prevent_unscanned": flag("prevent_unscanned")}
	if s := r.PostFormValue("severity"); s != "" {
		md["severity"] = s
	}
	if _, err := h.api.do(r, call{method: http.MethodPut, path: polProjectPath(project), body: map[string]any{"metadata": md}}, nil); err != nil {
		return "", "", err
	}
	return polURL(project) + "#scanning", "policies.scanSaved", nil
}

// polSetAllowlist is POST /projects/{project}/policies/allowlist: ids (CVE
// ids, one per line or separated by spaces or commas), expires
// (YYYY-MM-DD, empty: never).
func (h *Handler) polSetAllowlist(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	project := r.PathValue("project")
	items := []map[string]string{}
	seen := map[string]bool{}
	for _, id := range strings.FieldsFunc(r.PostFormValue("ids"), func(c rune) bool { return c == ',' || c == ' ' || c == '\n' || c == '\r' || c == '\t' }) {
		if !seen[id] {
			seen[id] = true
			items = append(items, map[string]string{"cve_id": id})
		}
	}
	al := map[string]any{"items": items}
	if s := strings.TrimSpace(r.PostFormValue("expires")); s != "" {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return "", "", errors.New(localeOf(r).T("policies.allowlistBadDate"))
		}
		al["expires_at"] = d.Unix()
	}
	if _, err := h.api.do(r, call{method: http.MethodPut, path: polProjectPath(project), body: map[string]any{"cve_allowlist": al}}, nil); err != nil {
		return "", "", err
	}
	return polURL(project) + "#allowlist", "policies.allowlistSaved", nil
}

// polSetScanner is POST /projects/{project}/policies/scanner: scanner (a
// registration's name; empty: the default).
func (h *Handler) polSetScanner(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	project := r.PathValue("project")
	if _, err := h.api.do(r, call{method: http.MethodPut, path: polProjectPath(project) + "/scanner", body: map[string]string{"uuid": r.PostFormValue("scanner")}}, nil); err != nil {
		return "", "", err
	}
	return polURL(project) + "#scanner", "policies.scannerSaved", nil
}
