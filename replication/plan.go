package replication

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
)

// plan is the RunKind handler: it lists what the policy selects and
// creates the execution's tasks, once, in named steps: load the
// execution and its policy, refuse what cannot run (planRefusal), select
// the items, create a task per item.
func (e *Engine) plan(ctx context.Context, j meta.Job) error {
	var pl runPayload
	if err := json.Unmarshal(j.Payload, &pl); err != nil {
		return jobs.Permanent(fmt.Errorf("replication: job %d: %w", j.ID, err))
	}
	run, err := e.loadRun(ctx, j, pl)
	if err != nil || run.exec.Planned || run.exec.Status.Final() {
		return err
	}
	if err := planRefusal(run.rec, pl.Trigger, run.perr); err != nil {
		return e.failPlan(ctx, j, err, true)
	}
	items, err := selectItems(ctx, run.p, pl.Items)
	if err != nil {
		return e.failPlan(ctx, j, err, false)
	}
	err = e.createTasks(ctx, j.ID, run, items, taskAttempts(run.rec.TaskAttempts, e.attempts))
	if err == nil && len(items) > 0 {
		e.queue.Notify()
	}
	return err
}

// planRun is an execution to plan, with its policy: stored (rec) and
// resolved (p), or perr why it cannot be.
type planRun struct {
	exec Execution
	rec  PolicyRecord
	p    Policy
	perr error
}

// loadRun loads the execution job j plans (recording it first for a
// scheduled fire, which has no record yet) and its policy.
func (e *Engine) loadRun(ctx context.Context, j meta.Job, pl runPayload) (planRun, error) {
	var run planRun
	err := e.store.Update(ctx, func(tx meta.Tx) error {
		run = planRun{}
		var err error
		run.exec, err = Executions.In(tx).Get(ExecutionKey(j.ID))
		if errors.Is(err, meta.ErrNotFound) { // a scheduled fire
			run.exec = Execution{ID: j.ID, Policy: pl.Policy, Trigger: pl.Trigger, Status: StatusInProgress, StartTime: time.Now().UTC()}
			err = Executions.In(tx).Put(run.exec)
		}
		if err != nil {
			return err
		}
		if run.rec, run.perr = Policies.In(tx).Get(pl.Policy); run.perr == nil {
			run.p, run.perr = e.resolve(tx, run.rec, nil)
		}
		return nil
	})
	return run, err
}

// selectItems is what an execution replicates: of the given items (an
// event-based execution's), those the policy selects; without items,
// what Plan lists at the source.
func selectItems(ctx context.Context, p Policy, given []Item) ([]Item, error) {
	if given == nil {
		return Plan(ctx, p)
	}
	var items []Item
	for _, it := range given {
		ok, err := Selects(ctx, p, it)
		if err != nil {
			return nil, err
		}
		if ok {
			items = append(items, it)
		}
	}
	return items, nil
}

// createTasks creates a pending task and its job (of attempts attempts)
// per item, and records the execution planned (ending it at once when
// there is nothing to do); nothing when another run planned or ended it
// meanwhile.
func (e *Engine) createTasks(ctx context.Context, id uint64, run planRun, items []Item, attempts int) error {
	return e.store.Update(ctx, func(tx meta.Tx) error {
		exec, err := Executions.In(tx).Get(ExecutionKey(id))
		if err != nil || exec.Planned || exec.Status.Final() {
			return err
		}
		now := time.Now().UTC()
		for _, it := range items {
			job, err := jobs.EnqueueTx(tx, jobs.Spec{Kind: TaskKind, Payload: taskPayload{Execution: exec.ID}, MaxAttempts: attempts}, now)
			if err != nil {
				return err
			}
			t := Task{ID: job.ID, Execution: exec.ID, JobID: job.ID, Operation: it.Operation,
				Repository: it.Repository, Tag: it.Tag, Digest: it.Digest, Destination: run.p.DestinationRepository(it.Repository),
				Status: StatusPending}
			if err := Tasks.In(tx).Put(t); err != nil {
				return err
			}
		}
		exec.Planned, exec.Total, exec.InProgress = true, len(items), len(items)
		return finishIfDone(tx, &exec, run.rec, now)
	})
}

// failPlan ends an execution whose planning failed for good
// (planGivesUp); otherwise it returns cause for the queue to retry.
func (e *Engine) failPlan(ctx context.Context, j meta.Job, cause error, permanent bool) error {
	if !planGivesUp(permanent, j.Attempts, j.MaxAttempts, ctx.Err() != nil) {
		return cause
	}
	err := e.store.Update(context.WithoutCancel(ctx), func(tx meta.Tx) error {
		exec, err := Executions.In(tx).Get(ExecutionKey(j.ID))
		if err != nil || exec.Status.Final() {
			return err
		}
		rec, _ := Policies.In(tx).Get(exec.Policy)
		exec.Planned, exec.Status, exec.StatusText = true, StatusFailed, cause.Error()
		return end(tx, &exec, rec, time.Now().UTC())
	})
	if err != nil {
		return err
	}
	return jobs.Permanent(cause)
}
