package replication

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
)

// runPayload is a RunKind job's payload.
type runPayload struct {
	Policy  string      `json:"policy"`
	Trigger TriggerType `json:"trigger"`
	// Items, for event-based executions, are what the events name
	// (instead of listing the source).
	Items []Item `json:"items,omitempty"`
}

// taskPayload is a TaskKind job's payload.
type taskPayload struct {
	Execution uint64 `json:"execution"`
	// Task is the task's id; 0 means the job's own id (a task's first
	// job).
	Task uint64 `json:"task,omitempty"`
}

// ErrFinal reports a Stop of an execution that has ended.
var ErrFinal = errors.New("replication: execution has ended")

// Start begins a manual execution of the named policy and returns it (its
// planning runs as a job).
func (e *Engine) Start(ctx context.Context, policy string) (Execution, error) {
	var exec Execution
	err := e.store.Update(ctx, func(tx meta.Tx) error {
		if _, err := Policies.In(tx).Get(policy); err != nil {
			return err
		}
		var err error
		exec, err = startTx(tx, runPayload{Policy: policy, Trigger: TriggerManual}, time.Now().UTC())
		return err
	})
	if err == nil {
		e.queue.Notify()
	}
	return exec, err
}

// startTx enqueues the planning job of an execution and records the
// execution, in tx.
func startTx(tx meta.Tx, pl runPayload, now time.Time) (Execution, error) {
	job, err := jobs.EnqueueTx(tx, jobs.Spec{Kind: RunKind, Payload: pl}, now)
	if err != nil {
		return Execution{}, err
	}
	exec := Execution{ID: job.ID, Policy: pl.Policy, Trigger: pl.Trigger, Status: StatusInProgress, StartTime: now}
	return exec, Executions.In(tx).Put(exec)
}

// finishIfDone stores exec, ending it (finalStatus) when it is done.
func finishIfDone(tx meta.Tx, exec *Execution, rec PolicyRecord, now time.Time) error {
	if done(*exec) {
		exec.Status, exec.StatusText = finalStatus(*exec)
		return end(tx, exec, rec, now)
	}
	return Executions.In(tx).Put(*exec)
}

// end records a final execution and its REPLICATION event.
func end(tx meta.Tx, exec *Execution, rec PolicyRecord, now time.Time) error {
	exec.EndTime = now
	if err := Executions.In(tx).Put(*exec); err != nil {
		return err
	}
	result := "success"
	if exec.Status != StatusSucceeded {
		result = "failure"
	}
	_, err := tx.Events().Append(meta.Event{Type: events.Replication, Time: now, Operator: rec.CreatedBy, Resource: exec.Policy, Result: result,
		Details: map[string]string{
			"policy": exec.Policy, "execution": strconv.FormatUint(exec.ID, 10), "status": string(exec.Status),
			"trigger": string(exec.Trigger), "total": strconv.Itoa(exec.Total), "succeeded": strconv.Itoa(exec.Succeeded),
			"failed": strconv.Itoa(exec.Failed), "stopped": strconv.Itoa(exec.Stopped),
			"source": or(rec.Source, "local"), "destination": or(rec.Destination, "local"),
		}})
	return err
}

func or(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// ExecutionTasks lists up to limit tasks of an execution with ids after "after".
func ExecutionTasks(tx meta.Tx, execution, after uint64, limit int) ([]Task, error) {
	from := ExecutionKey(execution) + "/"
	if after > 0 {
		from = TaskKey(execution, after)
	}
	var out []Task
	for {
		page, err := Tasks.In(tx).List(from, 256)
		if err != nil {
			return nil, err
		}
		for _, t := range page {
			if t.Execution != execution || (limit > 0 && len(out) == limit) {
				return out, nil
			}
			out = append(out, t)
		}
		if len(page) < 256 {
			return out, nil
		}
		from = page[len(page)-1].Key()
	}
}

// Stop stops an execution: tasks not yet done are stopped (a running one
// is canceled), and nothing more is started.
func (e *Engine) Stop(ctx context.Context, id uint64) error {
	var cancel []uint64
	err := e.store.Update(ctx, func(tx meta.Tx) error {
		cancel = cancel[:0]
		exec, err := Executions.In(tx).Get(ExecutionKey(id))
		if err != nil {
			return err
		}
		if exec.Status.Final() {
			return ErrFinal
		}
		tasks, err := ExecutionTasks(tx, id, 0, 0)
		if err != nil {
			return err
		}
		now := time.Now().UTC()
		for _, t := range tasks {
			if t.Status.Final() {
				continue
			}
			t.Status, t.EndTime = StatusStopped, now
			t.Log = appendLog(t.Log, now, "stopped")
			if err := Tasks.In(tx).Put(t); err != nil {
				return err
			}
			exec.InProgress--
			exec.Stopped++
			cancel = append(cancel, t.JobID)
		}
		if !exec.Planned {
			cancel = append(cancel, exec.ID)
		}
		rec, _ := Policies.In(tx).Get(exec.Policy)
		exec.Planned, exec.Status = true, StatusStopped
		return end(tx, &exec, rec, now)
	})
	if err != nil {
		return err
	}
	for _, jid := range cancel {
		if err := e.queue.Cancel(ctx, jid); err != nil && !errors.Is(err, jobs.ErrFinal) && !errors.Is(err, meta.ErrNotFound) {
			return err
		}
	}
	return nil
}

// Retry runs the failed tasks of an ended execution again (each with a
// new job) and returns how many.
func (e *Engine) Retry(ctx context.Context, id uint64) (int, error) {
	n := 0
	err := e.store.Update(ctx, func(tx meta.Tx) error {
		n = 0
		exec, err := Executions.In(tx).Get(ExecutionKey(id))
		if err != nil {
			return err
		}
		tasks, err := ExecutionTasks(tx, id, 0, 0)
		if err != nil {
			return err
		}
		now := time.Now().UTC()
		for _, t := range tasks {
			if t.Status != StatusFailed {
				continue
			}
			old, _ := tx.Jobs().Get(t.JobID)
			job, err := jobs.EnqueueTx(tx, jobs.Spec{Kind: TaskKind, Payload: taskPayload{Execution: id, Task: t.ID}, MaxAttempts: old.MaxAttempts}, now)
			if err != nil {
				return err
			}
			t.JobID, t.Status, t.Error, t.EndTime = job.ID, StatusPending, "", time.Time{}
			t.Log = appendLog(t.Log, now, "retried (job %d)", job.ID)
			if err := Tasks.In(tx).Put(t); err != nil {
				return err
			}
			exec.Failed--
			exec.InProgress++
			n++
		}
		if n == 0 {
			return nil
		}
		exec.Status, exec.StatusText, exec.EndTime = StatusInProgress, "", time.Time{}
		return Executions.In(tx).Put(exec)
	})
	if err == nil && n > 0 {
		e.queue.Notify()
	}
	return n, err
}
