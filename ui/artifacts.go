package ui

import (
	"cmp"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

var _ = addMessages(map[string]msg{
	"art.search":                 {"Search by tag", "按标签搜索"},
	"art.digest":                 {"Digest", "摘要"},
	"art.tags":                   {"Tags", "标签"},
	"art.size":                   {"Size", "大小"},
	"art.platforms":              {"Platforms", "平台"},
	"art.type":                   {"Type", "类型"},
	"art.pushed":                 {"Pushed", "推送时间"},
	"art.pulled":                 {"Pulled", "拉取时间"},
	"art.signed":                 {"Signed", "已签名"},
	"art.unsigned":               {"Not signed", "未签名"},
	"art.yes":                    {"Yes", "是"},
	"art.no":                     {"No", "否"},
	"art.vulns":                  {"Vulnerabilities", "漏洞"},
	"art.labels":                 {"Labels", "标记"},
	"art.pull":                   {"Pull command", "拉取命令"},
	"art.none":                   {"No artifact found.", "没有找到制品。"},
	"art.more":                   {"+%d more", "另有 %d 个"},
	"art.type.image":             {"Image", "镜像"},
	"art.type.index":             {"Index", "镜像索引"},
	"art.type.chart":             {"Helm chart", "Helm Chart"},
	"art.type.other":             {"Other", "其他"},
	"art.description":            {"Description", "描述"},
	"art.noDescription":          {"No description.", "暂无描述。"},
	"art.descSaved":              {"Description saved.", "描述已保存。"},
	"art.editDescription":        {"Edit description", "编辑描述"},
	"art.addTag":                 {"Add tag", "添加标签"},
	"art.newTag":                 {"New tag", "新标签"},
	"art.tagAdded":               {"Tag added.", "标签已添加。"},
	"art.tagDeleted":             {"Tag deleted.", "标签已删除。"},
	"art.deleteTag":              {"Delete tag %s", "删除标签 %s"},
	"art.deleted":                {"Artifact deleted.", "制品已删除。"},
	"art.delete":                 {"Delete artifact", "删除制品"},
	"art.addLabel":               {"Add label", "添加标记"},
	"art.label":                  {"Label", "标记"},
	"art.labelAdded":             {"Label added.", "标记已添加。"},
	"art.labelRemoved":           {"Label removed.", "标记已移除。"},
	"art.removeLabel":            {"Remove label %s", "移除标记 %s"},
	"art.noLabels":               {"No label to add: create one on the Labels tab.", "没有可添加的标记：请先在“标签”页创建。"},
	"art.scan":                   {"Scan", "扫描"},
	"art.scanQueued":             {"Scan started.", "扫描已开始。"},
	"art.notScanned":             {"Not scanned", "未扫描"},
	"art.scanStatus":             {"Scan: %s", "扫描：%s"},
	"art.status.Pending":         {"Pending", "排队中"},
	"art.status.Running":         {"Running", "扫描中"},
	"art.status.Success":         {"Success", "成功"},
	"art.status.Error":           {"Error", "失败"},
	"art.status.Stopped":         {"Stopped", "已停止"},
	"art.noVulns":                {"No vulnerability", "无漏洞"},
	"art.sevCounts":              {"Critical %d, high %d, medium %d, low %d, other %d", "严重 %d，高危 %d，中危 %d，低危 %d，其他 %d"},
	"art.actions":                {"Actions", "操作"},
	"art.repoOf":                 {"Repository", "镜像仓库"},
	"art.mediaType":              {"Media type", "媒体类型"},
	"art.references":             {"References", "引用"},
	"art.noTags":                 {"No tag", "无标签"},
	"art.showReport":             {"The scan is done: show the report", "扫描已完成：查看报告"},
	"art.immutable":              {"immutable", "不可变"},
	"art.tab.vulnerabilities":    {"Vulnerabilities", "漏洞"},
	"art.tab.sbom":               {"SBOM", "SBOM"},
	"art.tab.accessories":        {"Accessories", "附件"},
	"art.tab.build-history":      {"Build history", "构建历史"},
	"art.tab.values":             {"Values", "Values"},
	"art.tab.readme":             {"README", "README"},
	"art.tabs":                   {"Artifact details", "制品详情"},
	"art.cve":                    {"Vulnerability", "漏洞编号"},
	"art.package":                {"Package", "软件包"},
	"art.version":                {"Version", "版本"},
	"art.fixed":                  {"Fixed in", "修复版本"},
	"art.severity":               {"Severity", "严重程度"},
	"art.anySeverity":            {"Any severity", "全部严重程度"},
	"art.fixable":                {"Fixable only", "仅可修复"},
	"art.filter":                 {"Filter", "筛选"},
	"art.noReport":               {"No vulnerability report yet: scan the artifact.", "还没有漏洞报告：请扫描该制品。"},
	"art.noMatch":                {"No vulnerability matches.", "没有符合条件的漏洞。"},
	"art.sev.Critical":           {"Critical", "严重"},
	"art.sev.High":               {"High", "高危"},
	"art.sev.Medium":             {"Medium", "中危"},
	"art.sev.Low":                {"Low", "低危"},
	"art.sev.Negligible":         {"Negligible", "可忽略"},
	"art.sev.Unknown":            {"Unknown", "未知"},
	"art.sbomNone":               {"No SBOM yet: scanning the artifact makes one.", "还没有 SBOM：扫描制品时会生成。"},
	"art.sbomHow":                {"The SBOM is an accessory (an OCI referrer) of the artifact; fetch it with:", "SBOM 是该制品的附件（OCI referrer），可用以下命令获取："},
	"art.pullShow":               {"Pull", "拉取"},
	"art.sbomDownload":           {"Download the newest SBOM", "下载最新的 SBOM"},
	"art.accNone":                {"No accessory.", "没有附件。"},
	"art.created":                {"Created", "创建时间"},
	"art.createdBy":              {"Created by", "创建命令"},
	"art.emptyLayer":             {"Empty layer", "空层"},
	"art.noHistory":              {"No build history.", "没有构建历史。"},
	"art.nothing":                {"Nothing to show.", "没有内容。"},
	"art.acc.signature.cosign":   {"Cosign signature", "Cosign 签名"},
	"art.acc.signature.notation": {"Notation signature", "Notation 签名"},
	"art.acc.harbor.sbom":        {"SBOM", "SBOM"},
	"art.acc.attestation.cosign": {"Attestation", "证明"},
	"art.acc.subject.accessory":  {"Referrer", "引用者"},
})

// artifactRoutes lists the pages of a repository's artifacts and an
// artifact's details, and their actions.
func (h *Handler) artifactRoutes() []route {
	return []route{
		{"GET /projects/{project}/repository", h.page("projects", h.repositoryPage)},
		{"POST /projects/{project}/repository/description", h.action(h.setRepoDescription)},
		{"GET /projects/{project}/artifact", h.page("projects", h.artifactPage)},
		{"POST /projects/{project}/artifact/delete", h.action(h.deleteArtifact)},
		{"POST /projects/{project}/artifact/tags", h.action(h.addTag)},
		{"POST /projects/{project}/artifact/tags/delete", h.action(h.deleteTag)},
		{"POST /projects/{project}/artifact/labels", h.action(h.addLabel)},
		{"POST /projects/{project}/artifact/labels/delete", h.action(h.removeLabel)},
		{"POST /projects/{project}/artifact/scan", h.action(h.scanArtifact)},
		{"GET /projects/{project}/artifact/sbom", h.downloadSBOM},
	}
}

// downloadSBOM is GET /projects/{project}/artifact/sbom?repo=&ref=: the
// document of the artifact's newest SBOM, streamed from the API's sbom
// addition as a download.
func (h *Handler) downloadSBOM(w http.ResponseWriter, r *http.Request) {
	_, _, path, err := repoOfRequest(r, "repo")
	ref := strings.TrimSpace(r.URL.Query().Get("ref"))
	if err != nil || ref == "" {
		http.Error(w, "repo and ref: both are required", http.StatusBadRequest)
		return
	}
	h.api.stream(w, r, call{method: http.MethodGet, path: path + "/artifacts/" + url.PathEscape(ref) + "/additions/sbom"})
}

// artifactJSON is an artifact as the API answers it.
type artifactJSON struct {
	Type              string                  `json:"type"`
	Digest            string                  `json:"digest"`
	MediaType         string                  `json:"media_type"`
	ManifestMediaType string                  `json:"manifest_media_type"`
	ArtifactType      string                  `json:"artifact_type"`
	Size              int64                   `json:"size"`
	PushTime          string                  `json:"push_time"`
	PullTime          string                  `json:"pull_time"`
	RepositoryName    string                  `json:"repository_name"`
	References        []referenceJSON         `json:"references"`
	Accessories       []accessoryJSON         `json:"accessories"`
	ScanOverview      map[string]scanOverview `json:"scan_overview"`
	Labels            []labelJSON             `json:"labels"`
	Signed            *bool                   `json:"signed"`
}

// IsSigned reports a signed artifact (the API said so).
func (a artifactJSON) IsSigned() bool { return a.Signed != nil && *a.Signed }

// referenceJSON is a child of an index.
type referenceJSON struct {
	ChildDigest string `json:"child_digest"`
	MediaType   string `json:"media_type"`
	Size        int64  `json:"size"`
	Platform    *struct {
		Architecture string `json:"architecture"`
		OS           string `json:"os"`
		Variant      string `json:"variant"`
	} `json:"platform"`
}

// PlatformName writes the child's platform as os/arch[/variant], or "".
func (c referenceJSON) PlatformName() string {
	if c.Platform == nil || (c.Platform.OS == "" && c.Platform.Architecture == "") {
		return ""
	}
	s := c.Platform.OS + "/" + c.Platform.Architecture
	if c.Platform.Variant != "" {
		s += "/" + c.Platform.Variant
	}
	return s
}

// accessoryJSON is an accessory (signature, SBOM, attestation, referrer)
// as the API answers it.
type accessoryJSON struct {
	Digest       string `json:"digest"`
	Type         string `json:"type"`
	Size         int64  `json:"size"`
	MediaType    string `json:"media_type"`
	ArtifactType string `json:"artifact_type"`
	CreationTime string `json:"creation_time"`
}

// tagJSON is a tag as the API answers it.
type tagJSON struct {
	Name      string `json:"name"`
	PushTime  string `json:"push_time"`
	Immutable bool   `json:"immutable"`
}

// labelJSON is a label as the API answers it.
type labelJSON struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Color       string `json:"color"`
	Scope       string `json:"scope"`
}

// scanOverview is an artifact's scan overview.
type scanOverview struct {
	ScanStatus      string `json:"scan_status"`
	Severity        string `json:"severity"`
	CompletePercent int    `json:"complete_percent"`
	Summary         *struct {
		Total   int            `json:"total"`
		Fixable int            `json:"fixable"`
		Summary map[string]int `json:"summary"`
	} `json:"summary"`
}

// vulnMime is the vulnerability report's key in scan_overview and the
// vulnerabilities addition.
const vulnMime = "application/vnd.security.vulnerability.report; version=1.1"

// sevBar is a scan summary drawn as a bar: each severity's share in
// steps of 5 % (CSS classes w-0 … w-100, no inline style).
type sevBar struct {
	Status                                    string
	Total, Critical, High, Medium, Low, Other int
	Segments                                  []sevSegment
}

// sevSegment is one colored part of a sevBar.
type sevSegment struct {
	Class string // sev-critical, …
	Width int    // 0..100 in steps of 5
	Count int
}

// Busy reports a scan not finished yet (the page polls).
func (b *sevBar) Busy() bool { return b != nil && (b.Status == "Pending" || b.Status == "Running") }

// barOf reads an artifact's scan overview into a bar (nil: not scanned).
func barOf(a artifactJSON) *sevBar {
	o, ok := a.ScanOverview[vulnMime]
	if !ok {
		for _, v := range a.ScanOverview {
			o, ok = v, true
			break
		}
	}
	if !ok || o.ScanStatus == "" {
		return nil
	}
	b := &sevBar{Status: o.ScanStatus}
	if o.Summary == nil {
		return b
	}
	s := o.Summary.Summary
	b.Critical, b.High, b.Medium, b.Low = s["Critical"], s["High"], s["Medium"], s["Low"]
	b.Total = o.Summary.Total
	if t := b.Critical + b.High + b.Medium + b.Low; b.Total < t {
		b.Total = t
	}
	b.Other = b.Total - b.Critical - b.High - b.Medium - b.Low
	if b.Total == 0 {
		return b
	}
	for _, seg := range []sevSegment{{"sev-critical", 0, b.Critical}, {"sev-high", 0, b.High}, {"sev-medium", 0, b.Medium}, {"sev-low", 0, b.Low}, {"sev-unknown", 0, b.Other}} {
		if seg.Count == 0 {
			continue
		}
		seg.Width = max(5, (seg.Count*100/b.Total+2)/5*5)
		b.Segments = append(b.Segments, seg)
	}
	return b
}

// kindOf is the portal's type of an artifact: image, index, chart or other.
func kindOf(a artifactJSON) string {
	mt := a.ManifestMediaType
	switch {
	case strings.Contains(mt, "index") || strings.Contains(mt, "manifest.list"):
		return "index"
	case a.Type == "CHART":
		return "chart"
	case a.Type == "IMAGE":
		return "image"
	}
	return "other"
}

// artifactRow is a row of the repository page.
type artifactRow struct {
	artifactJSON
	Kind      string
	Tags      []tagJSON
	MoreTags  int
	Platforms []string
	Bar       *sevBar
}

// tagsShown is how many tags a row of the repository page shows.
const tagsShown = 3

// repoOfRequest returns the project, the repository's name within it
// (the query's or form's field key) and the repository's API path.
func repoOfRequest(r *http.Request, key string) (project, name, path string, err error) {
	project = r.PathValue("project")
	name = strings.TrimSpace(r.URL.Query().Get(key))
	if r.Method == http.MethodPost {
		name = strings.TrimSpace(r.PostFormValue(key))
	}
	if name == "" {
		return "", "", "", &APIError{Status: http.StatusBadRequest, Message: key + ": required"}
	}
	return project, name, repoAPIPath(project, name), nil
}

// tagsOf returns page number page (n tags a page) of an artifact's tags
// and how many there are (one page of the API: an artifact may have very
// many).
func (h *Handler) tagsOf(r *http.Request, repoPath, digest string, page, n int) ([]tagJSON, int, error) {
	var tags []tagJSON
	a, err := h.api.do(r, call{method: http.MethodGet, path: repoPath + "/artifacts/" + url.PathEscape(digest) + "/tags",
		query: url.Values{"page": {strconv.Itoa(page)}, "page_size": {strconv.Itoa(n)}, "with_immutable_status": {"true"}}}, &tags)
	if err != nil {
		return nil, 0, err
	}
	total := a.total()
	if total < (page-1)*n+len(tags) {
		total = (page-1)*n + len(tags)
	}
	return tags, total, nil
}

// labelsFor returns the labels that may be attached in a project: the
// global ones and the project's.
func (h *Handler) labelsFor(r *http.Request, project string) []labelJSON {
	var out []labelJSON
	for _, q := range []url.Values{{"scope": {"g"}}, {"scope": {"p"}, "project_name": {project}}} {
		q.Set("page_size", "100")
		var ls []labelJSON
		if _, err := h.api.do(r, call{method: http.MethodGet, path: "/labels", query: q}, &ls); err == nil {
			out = append(out, ls...)
		}
	}
	return out
}

// repositoryPage is GET /projects/{project}/repository?name=&q=&sort=&page=:
// a repository's artifacts, one page at a time.
func (h *Handler) repositoryPage(_ http.ResponseWriter, r *http.Request, v *view) (string, error) {
	pv, err := h.project(r, v, "repositories")
	if err != nil {
		return "", err
	}
	project, name, path, err := repoOfRequest(r, "name")
	if err != nil {
		return "", err
	}
	var repo repositoryRow
	if _, err := h.api.do(r, call{method: http.MethodGet, path: path}, &repo); err != nil {
		return "", err
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	sort := r.URL.Query().Get("sort")
	if sort != "push_time" {
		sort = "-push_time"
	}
	extra := url.Values{"with_tag": {"false"}, "with_label": {"true"}, "with_scan_overview": {"true"},
		"with_signature": {"true"}, "sort": {sort}}
	if q != "" {
		extra.Set("q", "tags=~"+q)
	}
	var list []artifactJSON
	a, err := h.api.do(r, call{method: http.MethodGet, path: path + "/artifacts", query: listQuery(r, extra)}, &list)
	if err != nil {
		return "", err
	}
	rows := make([]artifactRow, 0, len(list))
	busy := false
	for _, art := range list {
		row := artifactRow{artifactJSON: art, Kind: kindOf(art), Bar: barOf(art)}
		tags, total, err := h.tagsOf(r, path, art.Digest, 1, tagsShown)
		if err != nil {
			return "", err
		}
		row.Tags, row.MoreTags = tags, total-len(tags)
		for _, c := range art.References {
			if p := c.PlatformName(); p != "" && !slices.Contains(row.Platforms, p) {
				row.Platforms = append(row.Platforms, p)
			}
		}
		busy = busy || row.Bar.Busy()
		rows = append(rows, row)
	}
	var labels []labelJSON
	if pv.Can.Push() {
		labels = h.labelsFor(r, project)
	}
	v.Title = name + " · " + project
	v.Data = map[string]any{"P": pv, "Repo": repo, "Name": name, "Rows": rows, "Q": q, "Pager": newPager(r, a.total()),
		"Sort": sortLinks(r, "push_time"), "PullHost": h.pullHostOf(r), "Labels": labels, "Busy": busy,
		"Scanning": v.Info.Scanning}
	return "repository", nil
}

// setRepoDescription is POST /projects/{project}/repository/description:
// name, description.
func (h *Handler) setRepoDescription(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	project, name, path, err := repoOfRequest(r, "name")
	if err != nil {
		return "", "", err
	}
	body := map[string]string{"description": r.PostFormValue("description")}
	if _, err := h.api.do(r, call{method: http.MethodPut, path: path, body: body}, nil); err != nil {
		return "", "", err
	}
	return repoURL(project, name), "art.descSaved", nil
}

// artifactOfForm returns the API path of the posted artifact (repo, ref)
// and the repository page to go back to.
func artifactOfForm(r *http.Request) (path, repoPage string, err error) {
	project, name, rp, err := repoOfRequest(r, "repo")
	if err != nil {
		return "", "", err
	}
	ref := strings.TrimSpace(r.PostFormValue("ref"))
	if ref == "" {
		return "", "", &APIError{Status: http.StatusBadRequest, Message: "ref: required"}
	}
	return rp + "/artifacts/" + url.PathEscape(ref), repoURL(project, name), nil
}

// deleteArtifact is POST /projects/{project}/artifact/delete: repo, ref.
func (h *Handler) deleteArtifact(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	path, repoPage, err := artifactOfForm(r)
	if err != nil {
		return "", "", err
	}
	if _, err := h.api.do(r, call{method: http.MethodDelete, path: path}, nil); err != nil {
		return "", "", err
	}
	return repoPage, "art.deleted", nil
}

// addTag is POST /projects/{project}/artifact/tags: repo, ref, tag.
func (h *Handler) addTag(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	path, _, err := artifactOfForm(r)
	if err != nil {
		return "", "", err
	}
	body := map[string]string{"name": strings.TrimSpace(r.PostFormValue("tag"))}
	if _, err := h.api.do(r, call{method: http.MethodPost, path: path + "/tags", body: body}, nil); err != nil {
		return "", "", err
	}
	return backTo(r), "art.tagAdded", nil
}

// deleteTag is POST /projects/{project}/artifact/tags/delete: repo, ref,
// tag. Deleting the tag a page is named by goes back to the repository.
func (h *Handler) deleteTag(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	path, repoPage, err := artifactOfForm(r)
	if err != nil {
		return "", "", err
	}
	tag := r.PostFormValue("tag")
	if _, err := h.api.do(r, call{method: http.MethodDelete, path: path + "/tags/" + url.PathEscape(tag)}, nil); err != nil {
		return "", "", err
	}
	if r.PostFormValue("ref") == tag {
		return repoPage, "art.tagDeleted", nil
	}
	return backTo(r), "art.tagDeleted", nil
}

// addLabel is POST /projects/{project}/artifact/labels: repo, ref, label
// (its id).
func (h *Handler) addLabel(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	path, _, err := artifactOfForm(r)
	if err != nil {
		return "", "", err
	}
	id, err := labelOfForm(r)
	if err != nil {
		return "", "", err
	}
	if _, err := h.api.do(r, call{method: http.MethodPost, path: path + "/labels", body: map[string]int64{"id": id}}, nil); err != nil {
		return "", "", err
	}
	return backTo(r), "art.labelAdded", nil
}

// labelOfForm reads the form's label id.
func labelOfForm(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PostFormValue("label"), 10, 64)
	if err != nil || id < 1 {
		return 0, &APIError{Status: http.StatusBadRequest, Message: localeOf(r).T("art.label") + ": " + r.PostFormValue("label")}
	}
	return id, nil
}

// removeLabel is POST /projects/{project}/artifact/labels/delete: repo,
// ref, label (its id).
func (h *Handler) removeLabel(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	path, _, err := artifactOfForm(r)
	if err != nil {
		return "", "", err
	}
	id, err := labelOfForm(r)
	if err != nil {
		return "", "", err
	}
	if _, err := h.api.do(r, call{method: http.MethodDelete, path: path + "/labels/" + strconv.FormatInt(id, 10)}, nil); err != nil {
		return "", "", err
	}
	return backTo(r), "art.labelRemoved", nil
}

// scanArtifact is POST /projects/{project}/artifact/scan: repo, ref; the
// page it goes back to shows the scan's progress live.
func (h *Handler) scanArtifact(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	path, _, err := artifactOfForm(r)
	if err != nil {
		return "", "", err
	}
	if _, err := h.api.do(r, call{method: http.MethodPost, path: path + "/scan"}, nil); err != nil {
		return "", "", err
	}
	return backTo(r), "art.scanQueued", nil
}

// vulnerability is one finding of a vulnerability report.
type vulnerability struct {
	ID          string   `json:"id"`
	Package     string   `json:"package"`
	Version     string   `json:"version"`
	FixVersion  string   `json:"fix_version"`
	Severity    string   `json:"severity"`
	Description string   `json:"description"`
	Links       []string `json:"links"`
}

// SevClass is the CSS class that colors the finding's severity.
func (v vulnerability) SevClass() string { return "t-" + strings.ToLower(v.Severity) }

// severities are Harbor's, highest first.
var severities = []string{"Critical", "High", "Medium", "Low", "Negligible", "Unknown"}

// sevRank orders severities, Critical highest.
func sevRank(s string) int {
	if i := slices.Index(severities, s); i >= 0 {
		return len(severities) - i
	}
	return 0
}

// accessoryNode is an accessory with its own accessories.
type accessoryNode struct {
	accessoryJSON
	Children []accessoryNode
}

// accessoryDepth bounds how deep the accessories tree is read.
const accessoryDepth = 3

// accessoriesOf reads the accessories of digest, and theirs, as a tree
// (typ filters the first level; "" is all).
func (h *Handler) accessoriesOf(r *http.Request, repoPath, digest, typ string, depth int) ([]accessoryNode, error) {
	q := url.Values{"page_size": {"100"}}
	if typ != "" {
		q.Set("q", "type="+typ)
	}
	var list []accessoryJSON
	if _, err := h.api.do(r, call{method: http.MethodGet, path: repoPath + "/artifacts/" + url.PathEscape(digest) + "/accessories", query: q}, &list); err != nil {
		return nil, err
	}
	out := make([]accessoryNode, 0, len(list))
	for _, a := range list {
		n := accessoryNode{accessoryJSON: a}
		if depth > 1 {
			n.Children, _ = h.accessoriesOf(r, repoPath, a.Digest, "", depth-1)
		}
		out = append(out, n)
	}
	return out, nil
}

// historyEntry is a step of an image's build history.
type historyEntry struct {
	Created    string `json:"created"`
	CreatedBy  string `json:"created_by"`
	EmptyLayer bool   `json:"empty_layer"`
	Comment    string `json:"comment"`
}

// artifactPage is GET /projects/{project}/artifact?repo=&ref=&tab=: an
// artifact's facts and one of its tabs.
func (h *Handler) artifactPage(_ http.ResponseWriter, r *http.Request, v *view) (string, error) {
	pv, err := h.project(r, v, "repositories")
	if err != nil {
		return "", err
	}
	project, name, path, err := repoOfRequest(r, "repo")
	if err != nil {
		return "", err
	}
	ref := strings.TrimSpace(r.URL.Query().Get("ref"))
	if ref == "" {
		return "", &APIError{Status: http.StatusBadRequest, Message: "ref: required"}
	}
	var art artifactJSON
	if _, err := h.api.do(r, call{method: http.MethodGet, path: path + "/artifacts/" + url.PathEscape(ref),
		query: url.Values{"with_tag": {"false"}, "with_label": {"true"}, "with_scan_overview": {"true"}, "with_signature": {"true"}}}, &art); err != nil {
		return "", err
	}
	tags, totalTags, err := h.tagsOf(r, path, art.Digest, pageAt(r, "tpage"), pageSize)
	if err != nil {
		return "", err
	}
	kind := kindOf(art)
	tabs := []string{}
	switch kind {
	case "image":
		tabs = append(tabs, "vulnerabilities", "sbom", "accessories", "build-history")
	case "index":
		tabs = append(tabs, "vulnerabilities", "sbom", "accessories")
	case "chart":
		tabs = append(tabs, "values", "readme", "accessories")
	default:
		tabs = append(tabs, "accessories")
	}
	tab := r.URL.Query().Get("tab")
	if !slices.Contains(tabs, tab) {
		tab = tabs[0]
	}
	d := map[string]any{"P": pv, "Name": name, "Ref": ref, "A": art, "Kind": kind, "Tags": tags, "TagPager": pagerAt(r, "tpage", totalTags),
		"Bar": barOf(art), "Tabs": tabs, "Tab": tab, "PullHost": h.pullHostOf(r), "Scanning": v.Info.Scanning,
		"RepoFull": project + "/" + name, "Fragment": r.Header.Get(fragmentHeader) != ""}
	if pv.Can.Push() {
		d["AllLabels"] = h.labelsFor(r, project)
	}
	if r.Header.Get(fragmentHeader) == "" { // the live part needs only the scan's state
		if err := h.artifactTab(r, path, art, tab, d); err != nil {
			return "", err
		}
	}
	v.Title = shortDigest(art.Digest) + " · " + name
	v.Data = d
	return "artifact", nil
}

// artifactTab fills d with what tab shows of art.
func (h *Handler) artifactTab(r *http.Request, path string, art artifactJSON, tab string, d map[string]any) error {
	apath := path + "/artifacts/" + url.PathEscape(art.Digest)
	switch tab {
	case "vulnerabilities":
		var reports map[string]struct {
			Vulnerabilities []vulnerability `json:"vulnerabilities"`
		}
		if _, err := h.api.do(r, call{method: http.MethodGet, path: apath + "/additions/vulnerabilities"}, &reports); err != nil {
			if statusOf(err) == http.StatusNotImplemented || statusOf(err) == http.StatusNotFound {
				return nil
			}
			return err
		}
		rep, ok := reports[vulnMime]
		if !ok {
			for _, x := range reports {
				rep, ok = x, true
				break
			}
		}
		sev := r.URL.Query().Get("severity")
		if !slices.Contains(severities, sev) {
			sev = ""
		}
		fixable := r.URL.Query().Get("fixable") == "on"
		var kept []vulnerability
		for _, x := range rep.Vulnerabilities {
			if (sev == "" || x.Severity == sev) && (!fixable || x.FixVersion != "") {
				kept = append(kept, x)
			}
		}
		slices.SortStableFunc(kept, func(a, b vulnerability) int {
			if c := cmp.Compare(sevRank(b.Severity), sevRank(a.Severity)); c != 0 {
				return c
			}
			if c := cmp.Compare(a.ID, b.ID); c != 0 {
				return c
			}
			return cmp.Compare(a.Package, b.Package)
		})
		pg := newPager(r, len(kept))
		start := min((pg.Page-1)*pageSize, len(kept))
		end := min(start+pageSize, len(kept))
		d["Report"] = ok
		d["Vulns"] = kept[start:end]
		d["Pager"] = pg
		d["Severity"] = sev
		d["Fixable"] = fixable
		d["Severities"] = severities
	case "sbom":
		list, err := h.accessoriesOf(r, path, art.Digest, "harbor.sbom", 1)
		if err != nil {
			return err
		}
		d["Accessories"] = list
	case "accessories":
		list, err := h.accessoriesOf(r, path, art.Digest, "", accessoryDepth)
		if err != nil {
			return err
		}
		d["Accessories"] = list
	case "build-history":
		a, err := h.api.do(r, call{method: http.MethodGet, path: apath + "/additions/build_history"}, nil)
		if err != nil && statusOf(err) != http.StatusNotFound {
			return err
		}
		var hist []historyEntry
		if err == nil {
			_ = json.Unmarshal(a.body, &hist)
		}
		d["History"] = hist
	case "values", "readme":
		kind := "values.yaml"
		if tab == "readme" {
			kind = "readme.md"
		}
		a, err := h.api.do(r, call{method: http.MethodGet, path: apath + "/additions/" + kind}, nil)
		if err != nil && statusOf(err) != http.StatusNotFound {
			return err
		}
		if err == nil {
			d["Text"] = string(a.body)
		}
	}
	return nil
}
