package ui

import (
	"net/http"
	"strconv"
	"strings"
)

// The administrator's work pages: garbage collection (admingc.go),
// scanners and scan-all (adminscanners.go), the job queue (adminjobs.go),
// the vulnerabilities and CVE exports (adminsecurity.go) and the audit
// log (adminaudit.go). Every one reads the API as the person signed in:
// the API refuses whoever is not an administrator, and the portal shows
// that refusal as the error page.

var _ = addMessages(map[string]msg{
	"work.status":     {"Status", "状态"},
	"work.created":    {"Created", "创建时间"},
	"work.updated":    {"Updated", "更新时间"},
	"work.started":    {"Started", "开始时间"},
	"work.finished":   {"Finished", "结束时间"},
	"work.yes":        {"Yes", "是"},
	"work.no":         {"No", "否"},
	"work.schedule":   {"Schedule", "定时计划"},
	"work.type":       {"Type", "类型"},
	"work.cron":       {"Cron (seconds first, for Custom)", "Cron 表达式（首位为秒，自定义时填写）"},
	"work.next":       {"Next run", "下次运行"},
	"work.sch.None":   {"None", "无"},
	"work.sch.Hourly": {"Hourly", "每小时"},
	"work.sch.Daily":  {"Daily", "每天"},
	"work.sch.Weekly": {"Weekly", "每周"},
	"work.sch.Custom": {"Custom", "自定义"},
	"work.sch.Manual": {"Manual", "手动"},
	"work.saved":      {"Schedule saved.", "定时计划已保存。"},
	"work.progress":   {"Progress", "进度"},
	"work.details":    {"Details", "详情"},
	"work.filter":     {"Filter", "筛选"},
	"work.all":        {"All", "全部"},
})

// adminWorkRoutes lists the pages of the administrator's garbage collection, scanners, job queue, vulnerabilities and audit log.
func (h *Handler) adminWorkRoutes() []route {
	var out []route
	for _, part := range [][]route{h.workGCRoutes(), h.workScannerRoutes(), h.workJobRoutes(), h.workSecurityRoutes(), h.workAuditRoutes()} {
		out = append(out, part...)
	}
	return out
}

// workScheduleTypes are the choices of a system job's schedule.
var workScheduleTypes = []string{"None", "Hourly", "Daily", "Weekly", "Custom"}

// workScheduleJSON is Harbor's Schedule (GET /system/gc/schedule and
// /system/scanAll/schedule).
type workScheduleJSON struct {
	Schedule struct {
		Type              string `json:"type"`
		Cron              string `json:"cron"`
		NextScheduledTime string `json:"next_scheduled_time"`
	} `json:"schedule"`
	Parameters map[string]any `json:"parameters"`
}

// Type is the schedule's type, None when unset.
func (s workScheduleJSON) Type() string {
	if s.Schedule.Type == "" {
		return "None"
	}
	return s.Schedule.Type
}

// Param reports a boolean parameter of the schedule.
func (s workScheduleJSON) Param(key string) bool {
	b, _ := s.Parameters[key].(bool)
	return b
}

// workScheduleBody is the API body of a schedule form: type and cron, with
// the job's parameters.
func workScheduleBody(r *http.Request, params map[string]any) (map[string]any, error) {
	typ := r.PostFormValue("type")
	ok := false
	for _, t := range workScheduleTypes {
		ok = ok || t == typ
	}
	if !ok {
		return nil, &APIError{Status: http.StatusBadRequest, Message: localeOf(r).T("work.type") + ": " + typ}
	}
	sch := map[string]any{"type": typ}
	if typ == "Custom" {
		sch["cron"] = strings.TrimSpace(r.PostFormValue("cron"))
	}
	body := map[string]any{"schedule": sch}
	if params != nil {
		body["parameters"] = params
	}
	return body, nil
}

// workFinished reports a status word of the API (Harbor's or the job
// queue's) that means the work is over.
func workFinished(s string) bool {
	switch strings.ToLower(s) {
	case "success", "succeeded", "error", "stopped", "dead", "canceled", "cancelled", "failed":
		return true
	}
	return false
}

// workPathID returns the path value key when it is a number, else a 400.
func workPathID(r *http.Request, key string) (string, error) {
	v := r.PathValue(key)
	if _, err := strconv.ParseUint(v, 10, 64); err != nil {
		return "", &APIError{Status: http.StatusBadRequest, Message: key + ": " + v}
	}
	return v, nil
}
