package api

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/replication"
)

// replicationExecutionJSON is Harbor's ReplicationExecution, with the
// policy by name (policy_name for policy_id) and Berth's bytes,
// artifacts, progress (percent of tasks done) and eta_seconds (while in
// progress, once a task is done: the time so far per task done, times the
// tasks left).
type replicationExecutionJSON struct {
	ID         uint64    `json:"id"`
	PolicyName string    `json:"policy_name"`
	Status     string    `json:"status"`
	StatusText string    `json:"status_text"`
	Trigger    string    `json:"trigger"`
	Total      int       `json:"total"`
	Failed     int       `json:"failed"`
	Succeed    int       `json:"succeed"`
	InProgress int       `json:"in_progress"`
	Stopped    int       `json:"stopped"`
	StartTime  time.Time `json:"start_time"`
	EndTime    time.Time `json:"end_time,omitzero"`
	Bytes      int64     `json:"bytes"`
	Artifacts  int       `json:"artifacts"`
	Progress   int       `json:"progress"`
	ETASeconds *int64    `json:"eta_seconds,omitempty"`
}

func toReplicationExecutionJSON(e replication.Execution, now time.Time) replicationExecutionJSON {
	out := replicationExecutionJSON{ID: e.ID, PolicyName: e.Policy, Status: string(e.Status), StatusText: e.StatusText,
		Trigger: string(e.Trigger), Total: e.Total, Failed: e.Failed, Succeed: e.Succeeded, InProgress: e.InProgress,
		Stopped: e.Stopped, StartTime: e.StartTime, EndTime: e.EndTime, Bytes: e.Bytes, Artifacts: e.Artifacts}
	done := e.Succeeded + e.Failed + e.Stopped
	switch {
	case e.Total > 0:
		out.Progress = min(100, done*100/e.Total)
	case e.Status.Final():
		out.Progress = 100
	}
	if e.Status == replication.StatusInProgress && done > 0 && !e.StartTime.IsZero() {
		left := max(0, e.Total-done)
		eta := int64(math.Round(now.Sub(e.StartTime).Seconds() / float64(done) * float64(left)))
		out.ETASeconds = &eta
	}
	return out
}

// replicationTaskJSON is Harbor's ReplicationTask (resources as
// "repository:tag" or "repository@digest"; job_id Berth's job), with
// Berth's bytes, artifacts, skipped (artifacts the destination had),
// attempts and error.
type replicationTaskJSON struct {
	ID           uint64    `json:"id"`
	ExecutionID  uint64    `json:"execution_id"`
	ResourceType string    `json:"resource_type"`
	SrcResource  string    `json:"src_resource"`
	DstResource  string    `json:"dst_resource"`
	Operation    string    `json:"operation"`
	Status       string    `json:"status"`
	JobID        uint64    `json:"job_id"`
	StartTime    time.Time `json:"start_time,omitzero"`
	EndTime      time.Time `json:"end_time,omitzero"`
	Bytes        int64     `json:"bytes"`
	Artifacts    int       `json:"artifacts"`
	Skipped      int       `json:"skipped"`
	Attempts     int       `json:"attempts"`
	Error        string    `json:"error,omitempty"`
}

func toReplicationTaskJSON(t replication.Task) replicationTaskJSON {
	ref := "@" + t.Digest
	if t.Tag != "" {
		ref = ":" + t.Tag
	}
	return replicationTaskJSON{ID: t.ID, ExecutionID: t.Execution, ResourceType: "artifact", SrcResource: t.Repository + ref,
		DstResource: t.Destination + ref, Operation: t.Operation, Status: string(t.Status), JobID: t.JobID,
		StartTime: t.StartTime, EndTime: t.EndTime, Bytes: t.Bytes, Artifacts: t.Artifacts, Skipped: t.Skipped,
		Attempts: t.Attempts, Error: t.Error}
}

// pathID reads the numeric path parameter key.
func pathID(r *http.Request, key string) (uint64, error) {
	id, err := strconv.ParseUint(r.PathValue(key), 10, 64)
	if err != nil {
		return 0, badRequest("%s: %q is not a number", key, r.PathValue(key))
	}
	return id, nil
}

// startReplication is POST /replication/executions {"policy_name": …}
// (Harbor's policy_id, given as the policy's name, also works): a manual
// execution, 201 with its Location.
func (h *Handler) startReplication(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	rep, err := h.replicator(p)
	if err != nil {
		return err
	}
	var req struct {
		PolicyName string          `json:"policy_name"`
		PolicyID   json.RawMessage `json:"policy_id"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if len(req.PolicyID) > 0 && string(req.PolicyID) != "null" {
		var name string
		if err := json.Unmarshal(req.PolicyID, &name); err != nil {
			return badRequest("policy_id: Berth names policies: give the name as a string, or policy_name")
		}
		if req.PolicyName != "" && req.PolicyName != name {
			return badRequest("policy_id: %q is not policy_name %q", name, req.PolicyName)
		}
		req.PolicyName = name
	}
	if req.PolicyName == "" {
		return badRequest("policy_name: required")
	}
	e, err := rep.Start(r.Context(), req.PolicyName)
	if err != nil {
		return replicationError(err, nil)
	}
	created(w, "/replication/executions/"+strconv.FormatUint(e.ID, 10))
	return nil
}

// listReplicationExecutions is GET /replication/executions, newest
// first, filtered by policy_name (or Harbor's policy_id, a name here),
// status and trigger.
func (h *Handler) listReplicationExecutions(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	rep, err := h.replicator(p)
	if err != nil {
		return err
	}
	pg, err := parsePage(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := replication.ExecutionFilter{Policy: q.Get("policy_name"), Status: replication.Status(q.Get("status")),
		Trigger: replication.TriggerType(q.Get("trigger"))}
	if f.Policy == "" {
		f.Policy = q.Get("policy_id")
	}
	execs, total, err := rep.Executions(r.Context(), f, toPage(pg))
	if err != nil {
		return replicationError(err, nil)
	}
	now := time.Now()
	list := make([]replicationExecutionJSON, 0, len(execs))
	for _, e := range execs {
		list = append(list, toReplicationExecutionJSON(e, now))
	}
	writeWindow(w, r, pg, list, total)
	return nil
}

func (h *Handler) getReplicationExecution(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	rep, err := h.replicator(p)
	if err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	e, err := rep.Execution(r.Context(), id)
	if err != nil {
		return replicationError(err, nil)
	}
	writeJSON(w, http.StatusOK, toReplicationExecutionJSON(e, time.Now()))
	return nil
}

// stopReplicationExecution is PUT /replication/executions/{id}, Harbor's
// stop (the body is ignored); 409 when the execution has ended.
func (h *Handler) stopReplicationExecution(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	rep, err := h.replicator(p)
	if err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := rep.Stop(r.Context(), id); err != nil {
		return replicationError(err, nil)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// retryReplicationExecution is POST /replication/executions/{id}/retry
// (Berth's): the execution's failed tasks run again; the answer says how
// many ({"retried": n}).
func (h *Handler) retryReplicationExecution(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	rep, err := h.replicator(p)
	if err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	n, err := rep.Retry(r.Context(), id)
	if err != nil {
		return replicationError(err, nil)
	}
	writeJSON(w, http.StatusOK, map[string]int{"retried": n})
	return nil
}

// listReplicationTasks is GET /replication/executions/{id}/tasks?status=…
// in id order.
func (h *Handler) listReplicationTasks(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	rep, err := h.replicator(p)
	if err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	pg, err := parsePage(r)
	if err != nil {
		return err
	}
	tasks, total, err := rep.Tasks(r.Context(), id, replication.Status(r.URL.Query().Get("status")), toPage(pg))
	if err != nil {
		return replicationError(err, nil)
	}
	list := make([]replicationTaskJSON, 0, len(tasks))
	for _, t := range tasks {
		list = append(list, toReplicationTaskJSON(t))
	}
	writeWindow(w, r, pg, list, total)
	return nil
}

// replicationTaskLog is GET /replication/executions/{id}/tasks/{task_id}/log:
// the task's log as text, a line each.
func (h *Handler) replicationTaskLog(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	rep, err := h.replicator(p)
	if err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	taskID, err := pathID(r, "task_id")
	if err != nil {
		return err
	}
	lines, err := rep.TaskLog(r.Context(), id, taskID)
	if err != nil {
		return replicationError(err, nil)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	for _, line := range lines {
		fmt.Fprintln(w, line)
	}
	return nil
}
