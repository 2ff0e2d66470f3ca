package ui

import (
	"encoding/json"
	"net/http"
	"net/url"
)

var _ = addMessages(map[string]msg{
	"gc.title":          {"Garbage collection", "垃圾清理"},
	"gc.run":            {"Run GC", "立即清理"},
	"gc.dryRun":         {"Dry run", "模拟运行"},
	"gc.untagged":       {"Delete untagged artifacts", "删除无标签的制品"},
	"gc.started":        {"Garbage collection started.", "垃圾清理已开始。"},
	"gc.history":        {"History", "历史记录"},
	"gc.id":             {"ID", "编号"},
	"gc.kind":           {"Trigger", "触发方式"},
	"gc.none":           {"No garbage collection has run yet.", "还没有运行过垃圾清理。"},
	"gc.latest":         {"Latest run", "最近一次运行"},
	"gc.log":            {"Log", "日志"},
	"gc.stop":           {"Stop", "停止"},
	"gc.stopped":        {"Stop requested.", "已请求停止。"},
	"gc.phase":          {"Phase", "阶段"},
	"gc.freed":          {"Freed", "释放空间"},
	"gc.runTitle":       {"Garbage collection %s", "垃圾清理 %s"},
	"gc.back":           {"All runs", "全部运行记录"},
	"gc.kind.MANUAL":    {"Manual", "手动"},
	"gc.kind.SCHEDULE":  {"Scheduled", "定时"},
	"gc.status.Pending": {"Pending", "等待中"},
	"gc.status.Running": {"Running", "运行中"},
	"gc.status.Success": {"Success", "成功"},
	"gc.status.Error":   {"Error", "失败"},
	"gc.status.Stopped": {"Stopped", "已停止"},
})

// workGCRoutes are the garbage collection pages.
func (h *Handler) workGCRoutes() []route {
	return []route{
		{"GET /admin/gc", h.page("gc", h.workGcPage)},
		{"POST /admin/gc/run", h.action(h.workRunGC)},
		{"POST /admin/gc/schedule", h.action(h.workSetGCSchedule)},
		{"GET /admin/gc/{id}", h.page("gc", h.workGcRunPage)},
		{"POST /admin/gc/{id}/stop", h.action(h.workStopGC)},
	}
}

// workGcRun is a collection as GET /system/gc answers it.
type workGcRun struct {
	ID            uint64 `json:"id"`
	JobKind       string `json:"job_kind"`
	JobParameters string `json:"job_parameters"`
	JobStatus     string `json:"job_status"`
	CreationTime  string `json:"creation_time"`
	UpdateTime    string `json:"update_time"`
	Progress      *struct {
		Phase  string `json:"phase"`
		Done   int    `json:"done"`
		Total  int    `json:"total"`
		Report struct {
			DryRun     bool   `json:"dryRun"`
			Finished   string `json:"finished"`
			FreedBytes int64  `json:"freedBytes"`
		} `json:"report"`
	} `json:"progress"`
}

// DryRun reports a dry run: the run's parameters (the queue's options or
// Harbor's) or its report say so.
func (g workGcRun) DryRun() bool {
	var p struct {
		DryRun  bool `json:"dryRun"`
		Harbors bool `json:"dry_run"`
	}
	_ = json.Unmarshal([]byte(g.JobParameters), &p)
	return p.DryRun || p.Harbors || (g.Progress != nil && g.Progress.Report.DryRun)
}

// Finished reports a run that is over.
func (g workGcRun) Finished() bool { return workFinished(g.JobStatus) }

// End is when a finished run ended ("" while it runs).
func (g workGcRun) End() string {
	if !g.Finished() {
		return ""
	}
	if g.Progress != nil && g.Progress.Report.Finished != "" && humanTime(g.Progress.Report.Finished) != "" {
		return g.Progress.Report.Finished
	}
	return g.UpdateTime
}

// Done and Total are the current phase's progress (0 without one).
func (g workGcRun) Done() int64 {
	if g.Progress == nil {
		return 0
	}
	return int64(g.Progress.Done)
}

// Total is the current phase's count of candidates.
func (g workGcRun) Total() int64 {
	if g.Progress == nil {
		return 0
	}
	return int64(g.Progress.Total)
}

// Phase is the run's phase ("" without progress).
func (g workGcRun) Phase() string {
	if g.Progress == nil {
		return ""
	}
	return g.Progress.Phase
}

// Freed is the storage the run freed (or would, dry).
func (g workGcRun) Freed() int64 {
	if g.Progress == nil {
		return 0
	}
	return g.Progress.Report.FreedBytes
}

// workGcPage is GET /admin/gc?page=: the buttons, the schedule, the newest
// run (live) and the history.
func (h *Handler) workGcPage(_ http.ResponseWriter, r *http.Request, v *view) (string, error) {
	var list []workGcRun
	a, err := h.api.do(r, call{method: http.MethodGet, path: "/system/gc", query: listQuery(r, nil)}, &list)
	if err != nil {
		return "", err
	}
	var latest *workGcRun
	if pageOf(r) == 1 && len(list) > 0 {
		latest = &list[0]
	} else {
		var first []workGcRun
		if _, err := h.api.do(r, call{method: http.MethodGet, path: "/system/gc", query: url.Values{"page": {"1"}, "page_size": {"1"}}}, &first); err == nil && len(first) > 0 {
			latest = &first[0]
		}
	}
	var sch workScheduleJSON
	if _, err := h.api.do(r, call{method: http.MethodGet, path: "/system/gc/schedule"}, &sch); err != nil && statusOf(err) != http.StatusNotImplemented {
		return "", err
	}
	v.Title = v.L.T("gc.title")
	v.Data = map[string]any{"Rows": list, "Latest": latest, "Pager": newPager(r, a.total()), "Schedule": sch, "Types": workScheduleTypes}
	return "gc", nil
}

// workRunGC is POST /admin/gc/run: dry_run, delete_untagged; a manual run.
func (h *Handler) workRunGC(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	params := map[string]any{"dry_run": r.PostFormValue("dry_run") != "", "delete_untagged": r.PostFormValue("delete_untagged") != ""}
	body := map[string]any{"schedule": map[string]string{"type": "Manual"}, "parameters": params}
	if _, err := h.api.do(r, call{method: http.MethodPost, path: "/system/gc/schedule", body: body}, nil); err != nil {
		return "", "", err
	}
	return "/admin/gc", "gc.started", nil
}

// workSetGCSchedule is POST /admin/gc/schedule: type, cron, delete_untagged.
func (h *Handler) workSetGCSchedule(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	body, err := workScheduleBody(r, map[string]any{"delete_untagged": r.PostFormValue("delete_untagged") != ""})
	if err != nil {
		return "", "", err
	}
	if _, err := h.api.do(r, call{method: http.MethodPut, path: "/system/gc/schedule", body: body}, nil); err != nil {
		return "", "", err
	}
	return "/admin/gc", "work.saved", nil
}

// workGcRunPage is GET /admin/gc/{id}: a run's status, progress and log,
// live while it runs.
func (h *Handler) workGcRunPage(_ http.ResponseWriter, r *http.Request, v *view) (string, error) {
	id, err := workPathID(r, "id")
	if err != nil {
		return "", err
	}
	var run workGcRun
	if _, err := h.api.do(r, call{method: http.MethodGet, path: "/system/gc/" + id}, &run); err != nil {
		return "", err
	}
	a, err := h.api.do(r, call{method: http.MethodGet, path: "/system/gc/" + id + "/log"}, nil)
	if err != nil {
		return "", err
	}
	v.Title = v.L.T("gc.runTitle", id)
	v.Data = map[string]any{"Run": run, "Log": string(a.body)}
	return "gcrun", nil
}

// workStopGC is POST /admin/gc/{id}/stop.
func (h *Handler) workStopGC(_ http.ResponseWriter, r *http.Request) (string, string, error) {
	id, err := workPathID(r, "id")
	if err != nil {
		return "", "", err
	}
	if _, err := h.api.do(r, call{method: http.MethodPut, path: "/system/gc/" + id}, nil); err != nil {
		return "", "", err
	}
	return "/admin/gc/" + id, "gc.stopped", nil
}
