package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/meta"
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

// replicationStatuses are the statuses a status query may name.
var replicationStatuses = []replication.Status{replication.StatusPending, replication.StatusInProgress,
	replication.StatusSucceeded, replication.StatusFailed, replication.StatusStopped}

// statusQuery reads the status parameter ("" for any).
func statusQuery(r *http.Request) (replication.Status, error) {
	s := replication.Status(r.URL.Query().Get("status"))
	if s != "" && !slices.Contains(replicationStatuses, s) {
		return s, badRequest("status: %q is not one of %v", s, replicationStatuses)
	}
	return s, nil
}

// pathID reads the numeric path parameter key.
func pathID(r *http.Request, key string) (uint64, error) {
	id, err := strconv.ParseUint(r.PathValue(key), 10, 64)
	if err != nil {
		return 0, badRequest("%s: %q is not a number", key, r.PathValue(key))
	}
	return id, nil
}

// executionOf loads the execution the path's id names.
func (h *Handler) executionOf(r *http.Request) (replication.Execution, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return replication.Execution{}, err
	}
	return h.execution(r.Context(), id)
}

func (h *Handler) execution(ctx context.Context, id uint64) (replication.Execution, error) {
	var e replication.Execution
	err := h.store.View(ctx, func(tx meta.Tx) error {
		var err error
		e, err = replication.Executions.In(tx).Get(replication.ExecutionKey(id))
		return err
	})
	if err != nil {
		return e, toAPIErrorNamed(err, fmt.Sprintf("replication execution %d", id))
	}
	return e, nil
}

// executionTasks lists the tasks of execution id, in id order.
func executionTasks(tx meta.Tx, id uint64) ([]replication.Task, error) {
	const batch = 256
	var out []replication.Task
	from := replication.ExecutionKey(id) + "/"
	for {
		page, err := replication.Tasks.In(tx).List(from, batch)
		if err != nil {
			return nil, err
		}
		for _, t := range page {
			if t.Execution != id {
				return out, nil
			}
			out = append(out, t)
		}
		if len(page) < batch {
			return out, nil
		}
		from = page[len(page)-1].Key()
	}
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
	if errors.Is(err, meta.ErrNotFound) {
		return notFound("replication policy %s not found", req.PolicyName)
	}
	if err != nil {
		return err
	}
	created(w, "/replication/executions/"+strconv.FormatUint(e.ID, 10))
	return nil
}

// listReplicationExecutions is GET /replication/executions, newest
// first, filtered by policy_name (or Harbor's policy_id, a name here),
// status and trigger.
func (h *Handler) listReplicationExecutions(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if _, err := h.replicator(p); err != nil {
		return err
	}
	pg, err := parsePage(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	policy := q.Get("policy_name")
	if policy == "" {
		policy = q.Get("policy_id")
	}
	status, err := statusQuery(r)
	if err != nil {
		return err
	}
	trigger := replication.TriggerType(q.Get("trigger"))
	switch trigger {
	case "", replication.TriggerManual, replication.TriggerScheduled, replication.TriggerEvent:
	default:
		return badRequest("trigger: %q is not manual, scheduled or event_based", trigger)
	}
	var all []replication.Execution
	if err := h.store.View(r.Context(), func(tx meta.Tx) error {
		var err error
		all, err = replication.Executions.In(tx).List("", 0)
		return err
	}); err != nil {
		return err
	}
	now := time.Now()
	var list []replicationExecutionJSON
	for _, e := range slices.Backward(all) {
		if (policy == "" || e.Policy == policy) && (status == "" || e.Status == status) && (trigger == "" || e.Trigger == trigger) {
			list = append(list, toReplicationExecutionJSON(e, now))
		}
	}
	writePage(w, r, pg, list)
	return nil
}

func (h *Handler) getReplicationExecution(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if _, err := h.replicator(p); err != nil {
		return err
	}
	e, err := h.executionOf(r)
	if err != nil {
		return err
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
		e, gerr := h.execution(r.Context(), id)
		switch {
		case gerr != nil:
			return gerr
		case e.Status.Final():
			return &apiError{status: http.StatusConflict, code: codeConflict, msg: fmt.Sprintf("replication execution %d has ended (%s)", id, e.Status)}
		}
		return err
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
	if errors.Is(err, meta.ErrNotFound) {
		return notFound("replication execution %d not found", id)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int{"retried": n})
	return nil
}

// listReplicationTasks is GET /replication/executions/{id}/tasks?status=…
// in id order.
func (h *Handler) listReplicationTasks(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if _, err := h.replicator(p); err != nil {
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
	status, err := statusQuery(r)
	if err != nil {
		return err
	}
	var tasks []replication.Task
	if err := h.store.View(r.Context(), func(tx meta.Tx) error {
		if _, err := replication.Executions.In(tx).Get(replication.ExecutionKey(id)); err != nil {
			return toAPIErrorNamed(err, fmt.Sprintf("replication execution %d", id))
		}
		var err error
		tasks, err = executionTasks(tx, id)
		return err
	}); err != nil {
		return err
	}
	var list []replicationTaskJSON
	for _, t := range tasks {
		if status == "" || t.Status == status {
			list = append(list, toReplicationTaskJSON(t))
		}
	}
	writePage(w, r, pg, list)
	return nil
}

// replicationTaskLog is GET /replication/executions/{id}/tasks/{task_id}/log:
// the task's log as text, a line each.
func (h *Handler) replicationTaskLog(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if _, err := h.replicator(p); err != nil {
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
	var t replication.Task
	if err := h.store.View(r.Context(), func(tx meta.Tx) error {
		var err error
		t, err = replication.Tasks.In(tx).Get(replication.TaskKey(id, taskID))
		return err
	}); err != nil {
		if errors.Is(err, meta.ErrNotFound) {
			return notFound("task %d of replication execution %d not found", taskID, id)
		}
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	for _, line := range t.Log {
		fmt.Fprintln(w, line)
	}
	return nil
}
