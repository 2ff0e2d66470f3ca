package ui

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

var _ = addMessages(map[string]msg{
	"vul.title":         {"Vulnerabilities", "漏洞"},
	"vul.summary":       {"Summary", "概览"},
	"vul.exports":       {"CVE export", "CVE 导出"},
	"vul.tabs":          {"Vulnerability pages", "漏洞页面"},
	"vul.total":         {"Vulnerabilities found", "发现的漏洞"},
	"vul.scanned":       {"Artifacts scanned", "已扫描制品"},
	"vul.fixable":       {"Fixable", "可修复"},
	"vul.vulnerable":    {"Vulnerable artifacts", "存在漏洞的制品"},
	"vul.bySeverity":    {"By severity", "按严重程度"},
	"vul.severity":      {"Severity", "严重程度"},
	"vul.count":         {"Count", "数量"},
	"vul.dangerousCVEs": {"Most dangerous CVEs", "最危险的 CVE"},
	"vul.dangerousArts": {"Most dangerous artifacts", "最危险的制品"},
	"vul.cve":           {"CVE", "CVE"},
	"vul.package":       {"Package", "软件包"},
	"vul.version":       {"Version", "版本"},
	"vul.fixed":         {"Fixed in", "修复版本"},
	"vul.cvss":          {"CVSS 3", "CVSS 3"},
	"vul.artifacts":     {"Artifacts", "制品"},
	"vul.repository":    {"Repository", "镜像仓库"},
	"vul.digest":        {"Digest", "摘要"},
	"vul.tags":          {"Tags", "标签"},
	"vul.tag":           {"Tag", "标签"},
	"vul.critical":      {"Critical", "严重"},
	"vul.high":          {"High", "高危"},
	"vul.medium":        {"Medium", "中危"},
	"vul.low":           {"Low", "低危"},
	"vul.unknown":       {"Unknown", "未知"},
	"vul.none":          {"None", "无"},
	"vul.any":           {"Any", "任意"},
	"vul.search":        {"Search vulnerabilities", "搜索漏洞"},
	"vul.noResult":      {"No vulnerability matches.", "没有匹配的漏洞。"},
	"vul.noScan":        {"Nothing is scanned yet.", "尚未扫描任何制品。"},
	"vul.description":   {"Description", "描述"},
	"cvex.new":          {"Export CVEs", "导出 CVE"},
	"cvex.projects":     {"Projects", "项目"},
	"cvex.labels":       {"Labels (any of)", "标签（任一）"},
	"cvex.cves":         {"CVE ids (comma-separated, empty for all)", "CVE 编号（逗号分隔，留空表示全部）"},
	"cvex.repos":        {"Repositories (pattern, e.g. **)", "镜像仓库（模式，例如 **）"},
	"cvex.tags":         {"Tags (pattern, e.g. **)", "标签（模式，例如 **）"},
	"cvex.jobName":      {"Name of the export", "导出名称"},
	"cvex.start":        {"Start export", "开始导出"},
	"cvex.started":      {"Export started.", "导出已开始。"},
	"cvex.list":         {"My exports", "我的导出"},
	"cvex.none":         {"No export yet.", "还没有导出。"},
	"cvex.rows":         {"Rows", "行数"},
	"cvex.size":         {"Size", "大小"},
	"cvex.download":     {"Download CSV", "下载 CSV"},
	"cvex.id":           {"ID", "编号"},
	"cvex.noProject":    {"No project to export.", "没有可导出的项目。"},
	"cvex.st.Pending":   {"Pending", "等待中"},
	"cvex.st.Running":   {"Running", "运行中"},
	"cvex.st.Success":   {"Success", "成功"},
	"cvex.st.Error":     {"Error", "失败"},
	"cvex.st.Stopped":   {"Stopped", "已停止"},
})

// workSeverities are Harbor's severities, worst first.
var workSeverities = []string{"Critical", "High", "Medium", "Low", "Unknown", "None"}

// workSecurityRoutes are the vulnerability and CVE export pages.
func (h *Handler) workSecurityRoutes() []route {
	return []route{
		{"GET /admin/security", h.page("security", h.workSecurityPage)},
		{"GET /admin/security/exports", h.page("security", h.workExportsPage)},
		{"POST /admin/security/exports", h.action(h.workStartExport)},
		{"GET /admin/security/exports/{id}/download", h.workDownloadExport},
	}
}

// workSummary is GET /security/summary's answer.
type workSummary struct {
	Critical      int64 `json:"critical_cnt"`
	High          int64 `json:"high_cnt"`
	Medium        int64 `json:"medium_cnt"`
	Low           int64 `json:"low_cnt"`
	None          int64 `json:"none_cnt"`
	Unknown       int64 `json:"unknown_cnt"`
	Total         int64 `json:"total_vuls"`
	Scanned       int64 `json:"scanned_cnt"`
	Artifacts     int64 `json:"total_artifact"`
	Fixable       int64 `json:"fixable_cnt"`
	Vulnerable    int64 `json:"vulnerable_cnt"`
	DangerousCVEs []struct {
		CVE         string   `json:"cve_id"`
		Severity    string   `json:"severity"`
		CVSS        *float64 `json:"cvss_score_v3"`
		Desc        string   `json:"desc"`
		Package     string   `json:"package"`
		Version     string   `json:"version"`
		ArtifactCnt int      `json:"artifact_cnt"`
	} `json:"dangerous_cves"`
	DangerousArtifacts []workDangerousArtifact `json:"dangerous_artifacts"`
}

// workDangerousArtifact is one of the summary's most dangerous artifacts.
type workDangerousArtifact struct {
	Repository string `json:"repository_name"`
	Digest     string `json:"digest"`
	Critical   int64  `json:"critical_cnt"`
	High       int64  `json:"high_cnt"`
	Medium     int64  `json:"medium_cnt"`
}

// URL is the artifact's page in the portal.
func (a workDangerousArtifact) URL() string { return workArtifactURL(a.Repository, a.Digest) }

// workArtifactURL is the portal page of repo@digest (repo a full name).
func workArtifactURL(repo, ref string) string {
	project, _, _ := strings.Cut(repo, "/")
	return artifactURL(project, repo, ref)
}

// workSeverityCount is a severity's bar of the summary.
type workSeverityCount struct {
	Severity string
	Key      string
	Count    int64
}

// Class is the severity's style class.
func (c workSeverityCount) Class() string { return strings.ToLower(c.Severity) }

// workVul is a finding of GET /security/vul.
type workVul struct {
	Repository string   `json:"repository_name"`
	Digest     string   `json:"digest"`
	Tags       []string `json:"tags"`
	CVE        string   `json:"cve_id"`
	Severity   string   `json:"severity"`
	CVSS       *float64 `json:"cvss_v3_score"`
	Package    string   `json:"package"`
	Version    string   `json:"version"`
	Fixed      string   `json:"fixed_version"`
	Links      []string `json:"links"`
}

// URL is the artifact's page in the portal.
func (v workVul) URL() string { return workArtifactURL(v.Repository, v.Digest) }

// Score writes the CVSS score, "" without one.
func (v workVul) Score() string {
	if v.CVSS == nil {
		return ""
	}
	return strconv.FormatFloat(*v.CVSS, 'f', 1, 64)
}

// workVulKeys are the search form's fields, the API's q keys.
var workVulKeys = []string{"cve_id", "severity", "repository_name", "package", "tag"}

// workSecurityPage is GET /admin/security?cve_id=&severity=&
// repository_name=&package=&tag=&page=: the summary and the search.
func (h *Handler) workSecurityPage(_ http.ResponseWriter, r *http.Request, v *view) (string, error) {
	var s workSummary
	if _, err := h.api.do(r, call{method: http.MethodGet, path: "/security/summary", query: url.Values{"with_dangerous_cve": {"true"}, "with_dangerous_artifact": {"true"}}}, &s); err != nil {
		return "", err
	}
	counts := []workSeverityCount{{"Critical", "vul.critical", s.Critical}, {"High", "vul.high", s.High}, {"Medium", "vul.medium", s.Medium},
		{"Low", "vul.low", s.Low}, {"Unknown", "vul.unknown", s.Unknown}, {"None", "vul.none", s.None}}
	form := map[string]string{}
	var conds []string
	for _, k := range workVulKeys {
		val := strings.TrimSpace(r.URL.Query().Get(k))
		form[k] = val
		if val != "" {
			conds = append(conds, k+"="+val)
		}
	}
	var list []workVul
	a, err := h.api.do(r, call{method: http.MethodGet, path: "/security/vul", query: listQuery(r, url.Values{"q": {strings.Join(conds, ",")}, "tune_count": {"true"}})}, &list)
	searchErr := ""
	if err != nil {
		if statusOf(err) != http.StatusBadRequest {
			return "", err
		}
		searchErr = err.Error()
	}
	total := a.total()
	var pg pager
	if total < 0 { // too many to count: a next page while this one is full
		known := (pageOf(r)-1)*pageSize + len(list)
		if len(list) == pageSize {
			known++
		}
		pg = newPager(r, known)
		pg.Total = -1
	} else {
		pg = newPager(r, total)
	}
	v.Title = v.L.T("vul.title")
	v.Data = map[string]any{"Summary": s, "Counts": counts, "Rows": list, "Form": form, "Pager": pg, "SearchErr": searchErr,
		"Severities": workSeverities, "Tab": "summary"}
	return "security", nil
}

// workExport is an execution of GET /export/cve/executions.
type workExport struct {
	ID          uint64 `json:"id"`
	UserName    string `json:"user_name"`
	Status      string `json:"status"`
	StatusText  string `json:"status_text"`
	StartTime   string `json:"start_time"`
	EndTime     string `json:"end_time"`
	FilePresent bool   `json:"file_present"`
	JobName     string `json:"job_name"`
	Rows        int    `json:"rows"`
	Size        int64  `json:"size"`
}

// Active reports an export still to finish.
func (e workExport) Active() bool { return !workFinished(e.Status) }

// workExportsPage is GET /admin/security/exports: the form and the
// person's exports, live while one runs.
func (h *Handler) workExportsPage(_ http.ResponseWriter, r *http.Request, v *view) (string, error) {
	// The summary is the administrators' (the exports are anybody's):
	// the page is theirs as the rest of the area.
	if _, err := h.api.do(r, call{method: http.MethodGet, path: "/security/summary"}, nil); err != nil {
		return "", err
	}
	var ex struct {
		Items []workExport `json:"items"`
	}
	if _, err := h.api.do(r, call{method: http.MethodGet, path: "/export/cve/executions"}, &ex); err != nil {
		return "", err
	}
	active := false
	for _, e := range ex.Items {
		active = active || e.Active()
	}
	data := map[string]any{"Exports": ex.Items, "Active": active, "Tab": "exports"}
	v.Data = data
	if r.Header.Get(fragmentHeader) != "" {
		return "cveexport", nil
	}
	var projects []projectJSON
	if _, err := h.api.do(r, call{method: http.MethodGet, path: "/projects", query: url.Values{"page_size": {"100"}, "sort": {"name"}}}, &projects); err != nil {
		return "", err
	}
	var labels []struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	_, _ = h.api.do(r, call{method: http.MethodGet, path: "/labels", query: url.Values{"scope": {"g"}, "page_size": {"100"}}}, &labels)
	data["Projects"], data["Labels"] = projects, labels
	v.Title = v.L.T("vul.exports")
	return "cveexport", nil
}

// workStartExport is POST /admin/security/exports: project (several),
// label (several ids), cve_ids, repositories, tags, job_name.
func (h *Handler) workStartExport(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	projects := []string{}
	for _, p := range r.PostForm["project"] {
		if p = strings.TrimSpace(p); p != "" {
			projects = append(projects, p)
		}
	}
	labels := []int64{}
	for _, l := range r.PostForm["label"] {
		id, err := strconv.ParseInt(l, 10, 64)
		if err != nil {
			return "", "", &APIError{Status: http.StatusBadRequest, Message: localeOf(r).T("cvex.labels") + ": " + l}
		}
		labels = append(labels, id)
	}
	body := map[string]any{"projects": projects, "labels": labels, "cveIds": strings.TrimSpace(r.PostFormValue("cve_ids")),
		"repositories": strings.TrimSpace(r.PostFormValue("repositories")), "tags": strings.TrimSpace(r.PostFormValue("tags")),
		"job_name": strings.TrimSpace(r.PostFormValue("job_name"))}
	if _, err := h.api.do(r, call{method: http.MethodPost, path: "/export/cve", body: body}, nil); err != nil {
		return "", "", err
	}
	return "/admin/security/exports", "cvex.started", nil
}

// workDownloadExport is GET /admin/security/exports/{id}/download: the
// export's CSV, streamed from the API.
func (h *Handler) workDownloadExport(w http.ResponseWriter, r *http.Request) {
	id, err := workPathID(r, "id")
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.api.stream(w, r, call{method: http.MethodGet, path: "/export/cve/download/" + id})
}
