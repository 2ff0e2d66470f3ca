package ui

import (
	"net/http"
	"strconv"
	"strings"
)

var _ = addMessages(map[string]msg{
	"auditlog.title":        {"Audit log", "审计日志"},
	"auditlog.username":     {"User", "用户"},
	"auditlog.operation":    {"Operation", "操作"},
	"auditlog.resourceType": {"Resource type", "资源类型"},
	"auditlog.resource":     {"Resource (contains)", "资源（包含）"},
	"auditlog.resourceCol":  {"Resource", "资源"},
	"auditlog.project":      {"Project", "项目"},
	"auditlog.time":         {"Time", "时间"},
	"auditlog.result":       {"Result", "结果"},
	"auditlog.any":          {"Any", "任意"},
	"auditlog.none":         {"No entry matches.", "没有匹配的记录。"},
	"auditlog.first":        {"First page", "第一页"},
	"auditlog.more":         {"More", "更多"},
	"auditlog.purge":        {"Purge the audit log", "清理审计日志"},
	"auditlog.hours":        {"Delete entries older than (hours)", "删除早于以下时间的记录（小时）"},
	"auditlog.purgeNow":     {"Purge now", "立即清理"},
	"auditlog.purged":       {"Audit log purged: %s entries deleted.", "审计日志已清理：删除了 %s 条记录。"},
	"auditlog.pages":        {"Audit log pages", "审计日志分页"},
})

// workAuditOps are the operations the audit log records.
var workAuditOps = []string{"CREATE_PROJECT", "DELETE_PROJECT", "CREATE_REPOSITORY", "DELETE_REPOSITORY", "PUSH_ARTIFACT", "PULL_ARTIFACT",
	"DELETE_ARTIFACT", "DELETE_TAG", "CREATE_ROBOT", "DELETE_ROBOT", "CHANGE_MEMBER", "CREATE_USER", "DELETE_USER", "LOGIN",
	"SCANNING_COMPLETED", "SCANNING_FAILED", "REPLICATION", "TAG_RETENTION", "QUOTA_EXCEED", "QUOTA_WARNING",
	"CREATE_WEBHOOK_POLICY", "DELETE_WEBHOOK_POLICY"}

// workAuditKeys are the search form's fields, the API's q keys; resource
// is searched as a substring.
var workAuditKeys = []string{"username", "operation", "resource_type", "resource", "project_name"}

// workAuditRoutes are the audit log's pages.
func (h *Handler) workAuditRoutes() []route {
	return []route{
		{"GET /admin/audit", h.page("audit", h.workAuditPage)},
		{"POST /admin/audit/purge", h.action(h.workPurgeAudit)},
	}
}

// workAuditPage is GET /admin/audit?username=&operation=&resource_type=&
// resource=&project_name=&page=&before=&skip=: the log, newest first.
func (h *Handler) workAuditPage(_ http.ResponseWriter, r *http.Request, v *view) (string, error) {
	list, form, pg, err := h.auditLog(r, "/audit-logs", workAuditKeys)
	if err != nil {
		return "", err
	}
	v.Title = v.L.T("auditlog.title")
	v.Data = map[string]any{"Rows": list, "Form": form, "Ops": workAuditOps, "Pager": pg}
	return "auditlog", nil
}

// workPurgeAudit is POST /admin/audit/purge: hours.
func (h *Handler) workPurgeAudit(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	l := localeOf(r)
	hours, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("hours")))
	if err != nil || hours < 0 {
		return "", "", &APIError{Status: http.StatusBadRequest, Message: l.T("auditlog.hours") + ": " + r.PostFormValue("hours")}
	}
	var out struct {
		Purged string `json:"purged"`
	}
	if _, err := h.api.do(r, call{method: http.MethodPost, path: "/system/purgeaudit", body: map[string]int{"audit_retention_hour": hours}}, &out); err != nil {
		return "", "", err
	}
	// The message is already in the person's language (the catalog
	// returns a text that is not a key as it is).
	return "/admin/audit", l.T("auditlog.purged", out.Purged), nil
}
