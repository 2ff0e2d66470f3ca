package api

import (
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/preheat"
)

// preheatVendorType is what Harbor's executions of preheat policies name
// as their vendor_type.
const preheatVendorType = "P2P_PREHEAT"

// preheatMetricsJSON is Harbor's Metrics: an execution's tasks by status
// (Berth schedules none: scheduled_task_count is always 0).
type preheatMetricsJSON struct {
	TaskCount          int `json:"task_count"`
	SuccessTaskCount   int `json:"success_task_count"`
	ErrorTaskCount     int `json:"error_task_count"`
	PendingTaskCount   int `json:"pending_task_count"`
	RunningTaskCount   int `json:"running_task_count"`
	ScheduledTaskCount int `json:"scheduled_task_count"`
	StoppedTaskCount   int `json:"stopped_task_count"`
}

// preheatExecutionJSON is Harbor's Execution of a preheat policy:
// vendor_id is the policy's id, trigger MANUAL, SCHEDULE or EVENT, and
// extra_attrs tells Berth's policy name, project and (for a manual run)
// operator.
type preheatExecutionJSON struct {
	ID            uint64             `json:"id"`
	VendorType    string             `json:"vendor_type"`
	VendorID      int64              `json:"vendor_id"`
	Status        string             `json:"status"`
	StatusMessage string             `json:"status_message"`
	Metrics       preheatMetricsJSON `json:"metrics"`
	Trigger       string             `json:"trigger"`
	ExtraAttrs    map[string]string  `json:"extra_attrs"`
	StartTime     time.Time          `json:"start_time,omitzero"`
	EndTime       time.Time          `json:"end_time,omitzero"`
}

func toPreheatExecutionJSON(e preheat.Execution) preheatExecutionJSON {
	attrs := map[string]string{"policy": e.Policy, "project": e.Project}
	if e.Operator != "" {
		attrs["operator"] = e.Operator
	}
	m := e.Metrics
	return preheatExecutionJSON{ID: e.ID, VendorType: preheatVendorType, VendorID: e.PolicyID, Status: string(e.Status),
		StatusMessage: e.StatusMessage, Trigger: string(e.Trigger), ExtraAttrs: attrs, StartTime: e.StartTime, EndTime: e.EndTime,
		Metrics: preheatMetricsJSON{TaskCount: m.Total, SuccessTaskCount: m.Success, ErrorTaskCount: m.Error,
			PendingTaskCount: m.Pending, RunningTaskCount: m.Running, StoppedTaskCount: m.Stopped}}
}

// preheatTaskJSON is Harbor's Task of a preheat execution: extra_attrs
// names the artifact ("<repository>:<tag>", and its repository and tag),
// its digest, its kind ("image": only images are preheated) and manifest
// media type, and the provider's job id once the provider took the job;
// run_count is how many times Berth reached the provider for it (the
// request, then each status read).
type preheatTaskJSON struct {
	ID            uint64            `json:"id"`
	ExecutionID   uint64            `json:"execution_id"`
	Status        string            `json:"status"`
	StatusMessage string            `json:"status_message"`
	RunCount      int               `json:"run_count"`
	ExtraAttrs    map[string]string `json:"extra_attrs"`
	CreationTime  time.Time         `json:"creation_time,omitzero"`
	UpdateTime    time.Time         `json:"update_time,omitzero"`
	StartTime     time.Time         `json:"start_time,omitzero"`
	EndTime       time.Time         `json:"end_time,omitzero"`
}

func toPreheatTaskJSON(t preheat.Task) preheatTaskJSON {
	attrs := map[string]string{"artifact": t.Repository + ":" + t.Tag, "repository": t.Repository, "tag": t.Tag,
		"digest": t.Digest, "kind": "image"}
	if t.MediaType != "" {
		attrs["media_type"] = t.MediaType
	}
	if t.ProviderJobID != "" {
		attrs["provider_job_id"] = t.ProviderJobID
	}
	runs := 0
	if t.Requested {
		runs = 1 + t.Polls
	}
	updated := t.CreatedAt
	for _, at := range []time.Time{t.StartTime, t.EndTime} {
		if at.After(updated) {
			updated = at
		}
	}
	return preheatTaskJSON{ID: t.ID, ExecutionID: t.Execution, Status: string(t.Status), StatusMessage: t.Message,
		RunCount: runs, ExtraAttrs: attrs, CreationTime: t.CreatedAt, UpdateTime: updated, StartTime: t.StartTime, EndTime: t.EndTime}
}

// executionFields and taskFields are what q and sort read of executions
// and tasks.
var (
	executionFields = listFields[preheat.Execution]{
		"id":         func(e preheat.Execution) any { return e.ID },
		"vendor_id":  func(e preheat.Execution) any { return e.PolicyID },
		"status":     func(e preheat.Execution) any { return string(e.Status) },
		"trigger":    func(e preheat.Execution) any { return string(e.Trigger) },
		"start_time": func(e preheat.Execution) any { return e.StartTime },
		"end_time":   func(e preheat.Execution) any { return e.EndTime },
	}
	taskFields = listFields[preheat.Task]{
		"id":           func(t preheat.Task) any { return t.ID },
		"execution_id": func(t preheat.Task) any { return t.Execution },
		"status":       func(t preheat.Task) any { return string(t.Status) },
		"repository":   func(t preheat.Task) any { return t.Repository },
		"tag":          func(t preheat.Task) any { return t.Tag },
		"digest":       func(t preheat.Task) any { return t.Digest },
		"start_time":   func(t preheat.Task) any { return t.StartTime },
		"end_time":     func(t preheat.Task) any { return t.EndTime },
	}
)

// executionRef reads the project, policy and execution id of the path.
func executionRef(r *http.Request) (project, policy string, id uint64, err error) {
	id, err = pathID(r, "execution_id")
	return r.PathValue("project"), r.PathValue("preheat_policy_name"), id, err
}

// listPreheatExecutions is GET …/policies/{name}/executions, newest
// first (q and sort over executionFields).
func (h *Handler) listPreheatExecutions(svc *preheat.Service, w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	project, policy := r.PathValue("project"), r.PathValue("preheat_policy_name")
	return writePreheatList(w, r, executionFields, func(pg preheat.Page) ([]preheat.Execution, int, error) {
		return svc.Executions(r.Context(), p, project, policy, pg)
	}, toPreheatExecutionJSON)
}

func (h *Handler) getPreheatExecution(svc *preheat.Service, w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	project, policy, id, err := executionRef(r)
	if err != nil {
		return err
	}
	e, err := svc.Execution(r.Context(), p, project, policy, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toPreheatExecutionJSON(e))
	return nil
}

// preheatStopReq is Harbor's Execution as its stop request carries it:
// status must be Stopped; the other fields (Harbor's portal sends back
// the execution it read) are ignored.
type preheatStopReq struct {
	ID            json.RawMessage `json:"id"`
	VendorType    json.RawMessage `json:"vendor_type"`
	VendorID      json.RawMessage `json:"vendor_id"`
	Status        string          `json:"status"`
	StatusMessage json.RawMessage `json:"status_message"`
	Metrics       json.RawMessage `json:"metrics"`
	Trigger       json.RawMessage `json:"trigger"`
	ExtraAttrs    json.RawMessage `json:"extra_attrs"`
	StartTime     json.RawMessage `json:"start_time"`
	EndTime       json.RawMessage `json:"end_time"`
}

// stopPreheatExecution is PATCH …/executions/{execution_id} with
// {"status":"Stopped"}, Harbor's stop: the tasks not ended are stopped
// and the execution ends Stopped (an ended execution is left as it is).
func (h *Handler) stopPreheatExecution(svc *preheat.Service, w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	project, policy, id, err := executionRef(r)
	if err != nil {
		return err
	}
	var req preheatStopReq
	err = decodePreheat(w, r, &req, false)
	if err == nil && req.Status != string(preheat.RunStopped) {
		err = badRequest("status: %q: an execution can only be stopped (status %q)", req.Status, preheat.RunStopped)
	}
	if err != nil {
		return rightsFirst(func() error { _, err := svc.Execution(r.Context(), p, project, policy, id); return err }, err)
	}
	if _, err := svc.Stop(r.Context(), p, project, policy, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// listPreheatTasks is GET …/executions/{execution_id}/tasks, in id order
// (q and sort over taskFields).
func (h *Handler) listPreheatTasks(svc *preheat.Service, w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	project, policy, id, err := executionRef(r)
	if err != nil {
		return err
	}
	return writePreheatList(w, r, taskFields, func(pg preheat.Page) ([]preheat.Task, int, error) {
		return svc.Tasks(r.Context(), p, project, policy, id, pg)
	}, toPreheatTaskJSON)
}

// preheatTaskLog is GET …/executions/{execution_id}/tasks/{task_id}/logs:
// the task's log as text, timestamped lines.
func (h *Handler) preheatTaskLog(svc *preheat.Service, w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	project, policy, id, err := executionRef(r)
	if err != nil {
		return err
	}
	taskID, err := pathID(r, "task_id")
	if err != nil {
		return err
	}
	log, err := svc.TaskLog(r.Context(), p, project, policy, id, taskID)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, log) // the status is sent: a client gone is no error to answer
	return nil
}
