package ui

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

var _ = addMessages(map[string]msg{
	"jobs.title":           {"Job queue", "任务队列"},
	"jobs.id":              {"ID", "编号"},
	"jobs.kind":            {"Kind", "类型"},
	"jobs.kindFilter":      {"Kind (e.g. gc, scan.artifact, scan.all)", "类型（例如 gc、scan.artifact、scan.all）"},
	"jobs.state":           {"State", "状态"},
	"jobs.attempts":        {"Attempts", "尝试次数"},
	"jobs.lastError":       {"Last error", "最近错误"},
	"jobs.runAt":           {"Runs at", "计划运行时间"},
	"jobs.worker":          {"Worker", "执行者"},
	"jobs.none":            {"No job here.", "这里没有任务。"},
	"jobs.retry":           {"Retry", "重试"},
	"jobs.cancel":          {"Cancel job", "取消任务"},
	"jobs.retried":         {"The job will run again.", "任务将重新运行。"},
	"jobs.canceled":        {"The job is canceled.", "任务已取消。"},
	"jobs.jobTitle":        {"Job %s", "任务 %s"},
	"jobs.back":            {"All jobs", "全部任务"},
	"jobs.states":          {"Job states", "任务状态"},
	"jobs.state.pending":   {"Pending", "等待中"},
	"jobs.state.running":   {"Running", "运行中"},
	"jobs.state.succeeded": {"Succeeded", "成功"},
	"jobs.state.dead":      {"Failed (dead)", "失败（死信）"},
	"jobs.state.canceled":  {"Canceled", "已取消"},
})

// workJobStates are the queue's states, in the order of the tabs.
var workJobStates = []string{"pending", "running", "dead", "succeeded", "canceled"}

// workJobRoutes are the job queue's pages.
func (h *Handler) workJobRoutes() []route {
	return []route{
		{"GET /admin/jobs", h.page("jobs", h.workJobsPage)},
		{"GET /admin/jobs/{id}", h.page("jobs", h.workJobPage)},
		{"POST /admin/jobs/{id}/retry", h.action(h.workJobAct("retry", "jobs.retried"))},
		{"POST /admin/jobs/{id}/cancel", h.action(h.workJobAct("cancel", "jobs.canceled"))},
	}
}

// workJob is a job as GET /jobs answers it.
type workJob struct {
	ID          uint64 `json:"id"`
	Kind        string `json:"kind"`
	State       string `json:"state"`
	Attempts    int    `json:"attempts"`
	MaxAttempts int    `json:"max_attempts"`
	RunAt       string `json:"run_at"`
	LastError   string `json:"last_error"`
	Worker      string `json:"worker"`
	Created     string `json:"creation_time"`
	Updated     string `json:"update_time"`
	Finished    string `json:"finish_time"`
}

// Active reports a pending or running job (it may be canceled).
func (j workJob) Active() bool { return j.State == "pending" || j.State == "running" }

// Retryable reports a dead or canceled job (it may be retried).
func (j workJob) Retryable() bool { return j.State == "dead" || j.State == "canceled" }

// ShortError is the job's last error cut to a table cell.
func (j workJob) ShortError() string {
	if len(j.LastError) <= 120 {
		return j.LastError
	}
	return j.LastError[:120] + "…"
}

// workNewestJobs returns the page (pageSize rows, newest first) of the jobs
// the filter keeps, and their total; the API lists oldest first.
func (h *Handler) workNewestJobs(r *http.Request, filter url.Values, page int) ([]workJob, int, error) {
	q := func(p, size int) url.Values {
		v := url.Values{"page": {strconv.Itoa(p)}, "page_size": {strconv.Itoa(size)}}
		for k, x := range filter {
			if len(x) > 0 && x[0] != "" {
				v[k] = x
			}
		}
		return v
	}
	a, err := h.api.do(r, call{method: http.MethodGet, path: "/jobs", query: q(1, 1)}, nil)
	if err != nil {
		return nil, 0, err
	}
	total := a.total()
	hi := total - (page-1)*pageSize // exclusive, in oldest-first order
	if hi <= 0 {
		return nil, total, nil
	}
	lo := max(0, hi-pageSize)
	var rows []workJob
	for p := lo/pageSize + 1; p <= (hi-1)/pageSize+1; p++ {
		var part []workJob
		if _, err := h.api.do(r, call{method: http.MethodGet, path: "/jobs", query: q(p, pageSize)}, &part); err != nil {
			return nil, 0, err
		}
		for i, j := range part {
			if at := (p-1)*pageSize + i; at >= lo && at < hi {
				rows = append(rows, j)
			}
		}
	}
	slices.Reverse(rows)
	return rows, total, nil
}

// workJobTab is a state tab of the jobs page.
type workJobTab struct {
	State, URL string
	Current    bool
}

// workJobsPage is GET /admin/jobs?state=&kind=&page=: the queue, newest
// first.
func (h *Handler) workJobsPage(_ http.ResponseWriter, r *http.Request, v *view) (string, error) {
	state := r.URL.Query().Get("state")
	kind := strings.TrimSpace(r.URL.Query().Get("kind"))
	rows, total, err := h.workNewestJobs(r, url.Values{"state": {state}, "kind": {kind}}, pageOf(r))
	if err != nil {
		return "", err
	}
	tabs := []workJobTab{{State: "", URL: "/admin/jobs?kind=" + url.QueryEscape(kind), Current: state == ""}}
	for _, s := range workJobStates {
		tabs = append(tabs, workJobTab{State: s, URL: "/admin/jobs?state=" + s + "&kind=" + url.QueryEscape(kind), Current: state == s})
	}
	v.Title = v.L.T("jobs.title")
	v.Data = map[string]any{"Rows": rows, "Tabs": tabs, "State": state, "Kind": kind, "Pager": newPager(r, total)}
	return "jobqueue", nil
}

// workJobPage is GET /admin/jobs/{id}: one job, with retry or cancel.
func (h *Handler) workJobPage(_ http.ResponseWriter, r *http.Request, v *view) (string, error) {
	id, err := workPathID(r, "id")
	if err != nil {
		return "", err
	}
	var j workJob
	if _, err := h.api.do(r, call{method: http.MethodGet, path: "/jobs/" + id}, &j); err != nil {
		return "", err
	}
	v.Title = v.L.T("jobs.jobTitle", id)
	v.Data = map[string]any{"Job": j}
	return "jobdetail", nil
}

// workJobAct returns the action POST /admin/jobs/{id}/{act} (retry, cancel).
func (h *Handler) workJobAct(act, done string) actionFunc {
	return func(_ http.ResponseWriter, r *http.Request) (string, string, error) {
		id, err := workPathID(r, "id")
		if err != nil {
			return "", "", err
		}
		if _, err := h.api.do(r, call{method: http.MethodPost, path: "/jobs/" + id + "/" + act}, nil); err != nil {
			return "", "", err
		}
		return "/admin/jobs/" + id, done, nil
	}
}
