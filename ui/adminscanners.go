package ui

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"
)

var _ = addMessages(map[string]msg{
	"scanners.title":       {"Scanners", "扫描器"},
	"scanners.name":        {"Name", "名称"},
	"scanners.url":         {"Endpoint URL", "服务地址"},
	"scanners.auth":        {"Authorization", "认证方式"},
	"scanners.credential":  {"Access credential", "访问凭证"},
	"scanners.description": {"Description", "描述"},
	"scanners.skipTLS":     {"Skip certificate verification", "跳过证书验证"},
	"scanners.default":     {"Default", "默认"},
	"scanners.state":       {"Enabled", "启用"},
	"scanners.health":      {"Health", "健康状态"},
	"scanners.healthy":     {"Healthy", "正常"},
	"scanners.unhealthy":   {"Unhealthy", "异常"},
	"scanners.builtIn":     {"Built-in", "内置"},
	"scanners.new":         {"New scanner", "新建扫描器"},
	"scanners.add":         {"Add", "添加"},
	"scanners.added":       {"Scanner added.", "扫描器已添加。"},
	"scanners.setDefault":  {"Set as default", "设为默认"},
	"scanners.defaultSet":  {"Default scanner set.", "默认扫描器已设置。"},
	"scanners.enable":      {"Enable", "启用"},
	"scanners.disable":     {"Disable", "停用"},
	"scanners.changed":     {"Scanner saved.", "扫描器已保存。"},
	"scanners.deleted":     {"Scanner deleted.", "扫描器已删除。"},
	"scanners.metadata":    {"Metadata", "元数据"},
	"scanners.vendor":      {"Vendor", "厂商"},
	"scanners.version":     {"Version", "版本"},
	"scanners.caps":        {"Capabilities", "能力"},
	"scanners.consumes":    {"Reads", "可读取"},
	"scanners.produces":    {"Produces", "生成"},
	"scanners.props":       {"Properties", "属性"},
	"scanners.none":        {"No scanner registered.", "没有注册的扫描器。"},
	"scanners.back":        {"All scanners", "全部扫描器"},
	"scanall.title":        {"Scan all", "全部扫描"},
	"scanall.now":          {"Scan now", "立即扫描"},
	"scanall.started":      {"Scanning every image: started.", "已开始扫描全部镜像。"},
	"scanall.last":         {"Last scan-all", "最近一次全部扫描"},
	"scanall.never":        {"No scan-all has run yet.", "还没有运行过全部扫描。"},
	"scanall.queued":       {"Artifact scans waiting", "等待中的制品扫描"},
	"scanall.running":      {"Artifact scans running", "运行中的制品扫描"},
	"scanall.done":         {"Artifact scans done", "已完成的制品扫描"},
	"scanall.failed":       {"Artifact scans failed", "失败的制品扫描"},
})

// workScannerRoutes are the scanner and scan-all pages.
func (h *Handler) workScannerRoutes() []route {
	return []route{
		{"GET /admin/scanners", h.page("scanners", h.workScannersPage)},
		{"POST /admin/scanners", h.action(h.workAddScanner)},
		{"POST /admin/scanners/scan-all", h.action(h.workScanAllNow)},
		{"POST /admin/scanners/scan-all/schedule", h.action(h.workSetScanAllSchedule)},
		{"GET /admin/scanners/{name}", h.page("scanners", h.workScannerPage)},
		{"POST /admin/scanners/{name}/default", h.action(h.workSetDefaultScanner)},
		{"POST /admin/scanners/{name}/enabled", h.action(h.workSetScannerEnabled)},
		{"POST /admin/scanners/{name}/delete", h.action(h.workDeleteScanner)},
	}
}

// workScanner is a scanner registration as the API answers it.
type workScanner struct {
	Name           string `json:"name"`
	Description    string `json:"description"`
	URL            string `json:"url"`
	Auth           string `json:"auth"`
	SkipCertVerify bool   `json:"skip_certVerify"`
	UseInternal    bool   `json:"use_internal_addr"`
	Disabled       bool   `json:"disabled"`
	IsDefault      bool   `json:"is_default"`
	BuiltIn        bool   `json:"built_in"`
	CreateTime     string `json:"create_time"`
}

// workScannerRow is a scanner with its health (its metadata answered).
type workScannerRow struct {
	workScanner
	Healthy bool
	Checked bool
}

// workMetadata is GET /scanners/{name}/metadata's answer.
type workMetadata struct {
	Scanner struct {
		Name    string `json:"name"`
		Vendor  string `json:"vendor"`
		Version string `json:"version"`
	} `json:"scanner"`
	Capabilities []struct {
		Type     string   `json:"type"`
		Consumes []string `json:"consumes_mime_types"`
		Produces []string `json:"produces_mime_types"`
	} `json:"capabilities"`
	Properties map[string]string `json:"properties"`
}

// workScanAllStatus is the progress of scanning everything: the last
// scan-all job and the artifact scans by state.
type workScanAllStatus struct {
	Last                          *workJob
	Queued, Running, Done, Failed int
	Active                        bool
}

// workScannerPath is the API path of a scanner.
func workScannerPath(name string) string { return "/scanners/" + url.PathEscape(name) }

// workScannersPage is GET /admin/scanners: the registrations with their
// health, the form to add one, and scan-all (its schedule, the button,
// its progress live).
func (h *Handler) workScannersPage(_ http.ResponseWriter, r *http.Request, v *view) (string, error) {
	status, err := h.workScanAllProgress(r)
	if err != nil {
		return "", err
	}
	if r.Header.Get(fragmentHeader) != "" { // the live part only
		v.Data = map[string]any{"ScanAll": status}
		return "scanners", nil
	}
	var list []workScanner
	a, err := h.api.do(r, call{method: http.MethodGet, path: "/scanners", query: listQuery(r, nil)}, &list)
	if err != nil {
		return "", err
	}
	rows := make([]workScannerRow, 0, len(list))
	for _, s := range list {
		row := workScannerRow{workScanner: s}
		if !s.Disabled {
			ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
			_, err := h.api.do(r.WithContext(ctx), call{method: http.MethodGet, path: workScannerPath(s.Name) + "/metadata"}, nil)
			cancel()
			row.Checked, row.Healthy = true, err == nil
		}
		rows = append(rows, row)
	}
	var sch workScheduleJSON
	if _, err := h.api.do(r, call{method: http.MethodGet, path: "/system/scanAll/schedule"}, &sch); err != nil && statusOf(err) != http.StatusNotImplemented {
		return "", err
	}
	v.Title = v.L.T("scanners.title")
	v.Data = map[string]any{"Rows": rows, "Pager": newPager(r, a.total()), "Schedule": sch, "Types": workScheduleTypes,
		"ScanAll": status, "Auths": []string{"", "Basic", "Bearer", "X-ScannerAdapter-API-Key"}}
	return "scanners", nil
}

// workScanAllProgress reads the last scan-all job and counts the artifact
// scans by state (the API has no scan-all metrics of its own).
func (h *Handler) workScanAllProgress(r *http.Request) (workScanAllStatus, error) {
	var st workScanAllStatus
	last, _, err := h.workNewestJobs(r, url.Values{"kind": {"scan.all"}}, 1)
	if err != nil {
		return st, err
	}
	if len(last) > 0 {
		st.Last = &last[0]
		st.Active = last[0].Active()
	}
	for state, dst := range map[string]*int{"pending": &st.Queued, "running": &st.Running, "succeeded": &st.Done, "dead": &st.Failed} {
		a, err := h.api.do(r, call{method: http.MethodGet, path: "/jobs", query: url.Values{"kind": {"scan.artifact"}, "state": {state}, "page_size": {"1"}}}, nil)
		if err != nil {
			return st, err
		}
		*dst = max(a.total(), 0)
	}
	st.Active = st.Active || st.Queued > 0 || st.Running > 0
	return st, nil
}

// workAddScanner is POST /admin/scanners: name, url, auth,
// access_credential, description, skip_cert_verify.
func (h *Handler) workAddScanner(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	body := map[string]any{
		"name": strings.TrimSpace(r.PostFormValue("name")), "url": strings.TrimSpace(r.PostFormValue("url")),
		"auth": r.PostFormValue("auth"), "description": strings.TrimSpace(r.PostFormValue("description")),
		"skip_certVerify": r.PostFormValue("skip_cert_verify") != "",
	}
	if c := r.PostFormValue("access_credential"); c != "" {
		body["access_credential"] = c
	}
	if _, err := h.api.do(r, call{method: http.MethodPost, path: "/scanners", body: body}, nil); err != nil {
		return "", "", err
	}
	return "/admin/scanners", "scanners.added", nil
}

// workScannerPage is GET /admin/scanners/{name}: the registration and what
// the scanner says of itself.
func (h *Handler) workScannerPage(_ http.ResponseWriter, r *http.Request, v *view) (string, error) {
	name := r.PathValue("name")
	var s workScanner
	if _, err := h.api.do(r, call{method: http.MethodGet, path: workScannerPath(name)}, &s); err != nil {
		return "", err
	}
	var md workMetadata
	_, mdErr := h.api.do(r, call{method: http.MethodGet, path: workScannerPath(name) + "/metadata"}, &md)
	v.Title = s.Name
	v.Data = map[string]any{"Scanner": s, "Meta": md, "MetaErr": mdErr}
	return "scanner", nil
}

// workSetDefaultScanner is POST /admin/scanners/{name}/default.
func (h *Handler) workSetDefaultScanner(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	if _, err := h.api.do(r, call{method: http.MethodPatch, path: workScannerPath(r.PathValue("name")), body: map[string]bool{"is_default": true}}, nil); err != nil {
		return "", "", err
	}
	return "/admin/scanners", "scanners.defaultSet", nil
}

// workSetScannerEnabled is POST /admin/scanners/{name}/enabled with
// disabled=true|false: the registration is written back with it (its
// credential kept).
func (h *Handler) workSetScannerEnabled(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	name := r.PathValue("name")
	var s map[string]any
	if _, err := h.api.do(r, call{method: http.MethodGet, path: workScannerPath(name)}, &s); err != nil {
		return "", "", err
	}
	s["disabled"] = r.PostFormValue("disabled") == "true"
	if _, err := h.api.do(r, call{method: http.MethodPut, path: workScannerPath(name), body: s}, nil); err != nil {
		return "", "", err
	}
	return "/admin/scanners", "scanners.changed", nil
}

// workDeleteScanner is POST /admin/scanners/{name}/delete.
func (h *Handler) workDeleteScanner(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	if _, err := h.api.do(r, call{method: http.MethodDelete, path: workScannerPath(r.PathValue("name"))}, nil); err != nil {
		return "", "", err
	}
	return "/admin/scanners", "scanners.deleted", nil
}

// workScanAllNow is POST /admin/scanners/scan-all: scan every image now.
func (h *Handler) workScanAllNow(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	body := map[string]any{"schedule": map[string]string{"type": "Manual"}}
	if _, err := h.api.do(r, call{method: http.MethodPost, path: "/system/scanAll/schedule", body: body}, nil); err != nil {
		return "", "", err
	}
	return "/admin/scanners", "scanall.started", nil
}

// workSetScanAllSchedule is POST /admin/scanners/scan-all/schedule: type,
// cron.
func (h *Handler) workSetScanAllSchedule(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	body, err := workScheduleBody(r, nil)
	if err != nil {
		return "", "", err
	}
	if _, err := h.api.do(r, call{method: http.MethodPut, path: "/system/scanAll/schedule", body: body}, nil); err != nil {
		return "", "", err
	}
	return "/admin/scanners", "work.saved", nil
}
