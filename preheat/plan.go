package preheat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
)

// Job kinds and the event consumer's name.
const (
	// RunKind jobs plan an execution: they select the artifacts and
	// create one task, and one TaskKind job, per artifact.
	RunKind = "preheat.run"
	// TaskKind jobs preheat one artifact: the first asks the provider,
	// the next ones (each due a poll interval after the last) read the
	// provider job's status until it ends or the task times out.
	TaskKind = "preheat.task"
	// ConsumerName is the event trigger's cursor in the event log.
	ConsumerName = "preheat"
)

// planAttempts is how many times a RunKind job tries to select the
// artifacts before its execution fails.
const planAttempts = 3

// Register makes r run the Service's jobs: RunKind with planAttempts
// attempts, TaskKind with opts (Limit caps the tasks asking or polling
// providers at once across runners; its MaxAttempts is ignored:
// TaskAttempts bounds each provider request).
func (s *Service) Register(r *jobs.Runner, opts jobs.KindOptions) {
	r.Handle(RunKind, jobs.HandlerFunc(s.plan), jobs.KindOptions{MaxAttempts: planAttempts, Backoff: opts.Backoff, MaxBackoff: opts.MaxBackoff})
	opts.MaxAttempts = TaskAttempts
	r.Handle(TaskKind, jobs.HandlerFunc(s.runTask), opts)
}

// runPayload is a RunKind job's payload.
type runPayload struct {
	PolicyID int64       `json:"policy_id"`
	Project  string      `json:"project"`
	Policy   string      `json:"policy"`
	Trigger  ExecTrigger `json:"trigger"`
	Operator string      `json:"operator,omitempty"`
	// Items, for event runs, are the tags the events name.
	Items []item `json:"items,omitempty"`
}

// enqueueRun enqueues the RunKind job of pl in tx.
func enqueueRun(tx meta.Tx, pl runPayload, now time.Time) (meta.Job, error) {
	return jobs.EnqueueTx(tx, jobs.Spec{Kind: RunKind, Payload: pl, MaxAttempts: planAttempts}, now)
}

// planState is what a RunKind job reads before it selects.
type planState struct {
	policy   Policy
	gone     bool // the policy was deleted (or replaced) since
	exec     Execution
	hasExec  bool
	instance Instance
	instErr  error
}

// plan is the RunKind handler: it selects what the policy preheats now
// and records the execution with its tasks (the execution's id is the
// job's). A manual run's execution exists already (Start made it); a
// scheduled run records one whatever it finds; an event run records one
// only when something is to be preheated. It is idempotent: an execution
// already planned, or stopped, is left.
func (s *Service) plan(ctx context.Context, j meta.Job) error {
	var pl runPayload
	if err := json.Unmarshal(j.Payload, &pl); err != nil {
		return jobs.Permanent(fmt.Errorf("preheat: job %d: %w", j.ID, err))
	}
	st, err := s.planState(ctx, pl, j.ID)
	if err != nil {
		return err
	}
	switch {
	case st.hasExec && (st.exec.Planned || st.exec.Status.Final()):
		return nil
	case st.gone:
		if st.hasExec {
			return s.recordPlan(ctx, j, pl, nil, fmt.Sprintf("preheat policy %s of project %s was deleted", pl.Policy, pl.Project), 0)
		}
		return nil
	case pl.Trigger != ExecManual && (!st.policy.Enabled || !triggeredBy(st.policy.Trigger.Type, pl.Trigger)):
		return nil // disabled or changed since the fire or the event
	}
	items, err := s.selectArtifacts(ctx, st.policy, pl.Items)
	if err != nil {
		if ctx.Err() == nil && j.Attempts >= max(j.MaxAttempts, 1) {
			return s.recordPlan(context.WithoutCancel(ctx), j, pl, nil, "selecting the artifacts failed: "+err.Error(), st.policy.ProviderID)
		}
		return err
	}
	if pl.Trigger != ExecManual {
		if items, err = s.undone(ctx, st.policy, items); err != nil {
			return err
		}
	}
	failure := ""
	switch {
	case len(items) == 0:
	case st.instErr != nil:
		failure = st.instErr.Error()
	case !st.instance.Enabled:
		failure = fmt.Sprintf("preheat %s is disabled", describeInstance(st.instance))
	default:
		failure = s.health(ctx, st.instance)
	}
	if ctx.Err() != nil {
		return ctx.Err() // the runner stops, or the job was canceled: not the instance's fault
	}
	if failure != "" {
		s.logger.Warn("preheat: execution failed", "project", pl.Project, "policy", pl.Policy, "execution", j.ID, "reason", failure)
	}
	return s.recordPlan(context.WithoutCancel(ctx), j, pl, items, failure, st.policy.ProviderID)
}

// triggeredBy reports whether a policy of trigger type t runs on an
// execution trigger e.
func triggeredBy(t TriggerType, e ExecTrigger) bool {
	return (t == TriggerScheduled && e == ExecSchedule) || (t == TriggerEventBased && e == ExecEvent)
}

// planState reads the policy, the execution and the instance.
func (s *Service) planState(ctx context.Context, pl runPayload, id uint64) (planState, error) {
	var st planState
	err := s.store.View(ctx, func(tx meta.Tx) error {
		st = planState{}
		var err error
		st.policy, err = Policies.In(tx).Get(PolicyKey(pl.Project, pl.Policy))
		switch {
		case errors.Is(err, meta.ErrNotFound):
			st.gone = true
		case err != nil:
			return err
		case st.policy.ID != pl.PolicyID:
			st.gone = true
		}
		st.exec, err = Executions.In(tx).Get(ExecutionKey(pl.PolicyID, id))
		switch {
		case err == nil:
			st.hasExec = true
		case !errors.Is(err, meta.ErrNotFound):
			return err
		}
		if !st.gone {
			st.instance, st.instErr = instanceByID(tx, st.policy.ProviderID)
			if st.instErr != nil && !errors.Is(st.instErr, meta.ErrNotFound) {
				return st.instErr
			}
		}
		return nil
	})
	return st, err
}

// undone leaves out of items the digests the policy preheated into its
// instance already: the dedupe of scheduled and event runs.
func (s *Service) undone(ctx context.Context, p Policy, items selection) (selection, error) {
	if len(items) == 0 {
		return items, nil
	}
	keys := make([]string, len(items))
	for i, it := range items {
		keys[i] = doneKey(p.ID, p.ProviderID, it.Digest)
	}
	var done map[string][]byte
	if err := s.store.View(ctx, func(tx meta.Tx) error {
		var err error
		done, err = tx.Records(kindDone).GetMany(keys)
		return err
	}); err != nil {
		return nil, err
	}
	out := items[:0:0]
	for i, it := range items {
		if _, ok := done[keys[i]]; !ok {
			out = append(out, it)
		}
	}
	return out, nil
}

// health checks the instance before an execution preheats into it (as
// Harbor's enforcer does) and records its status: "" when healthy, else
// why not.
func (s *Service) health(ctx context.Context, in Instance) string {
	p, err := s.provider(in)
	if err != nil {
		return err.Error()
	}
	hctx, cancel := context.WithTimeout(ctx, PingTimeout)
	defer cancel()
	herr := p.Health(hctx)
	s.noteHealth(ctx, in, herr)
	if herr != nil {
		return fmt.Sprintf("preheat %s is not healthy: %v", describeInstance(in), herr)
	}
	return ""
}

// recordPlan records the execution of job j: failed with failure when it
// is set, else with a task (and its first job) per item, up to
// MaxTasksPerExecution; an event run with nothing to do records nothing.
func (s *Service) recordPlan(ctx context.Context, j meta.Job, pl runPayload, items selection, failure string, instance int64) error {
	queued := false
	err := s.store.Update(ctx, func(tx meta.Tx) error {
		queued = false
		now := s.stamp()
		exec, err := Executions.In(tx).Get(ExecutionKey(pl.PolicyID, j.ID))
		switch {
		case errors.Is(err, meta.ErrNotFound):
			if pl.Trigger == ExecEvent && failure == "" && len(items) == 0 {
				return nil
			}
			exec = Execution{ID: j.ID, PolicyID: pl.PolicyID, Policy: pl.Policy, Project: pl.Project, Trigger: pl.Trigger,
				Operator: pl.Operator, StartTime: now}
		case err != nil:
			return err
		case exec.Planned || exec.Status.Final():
			return nil
		}
		exec.Planned, exec.InstanceID = true, instance
		if failure != "" {
			exec.Status, exec.StatusMessage, exec.EndTime = RunError, failure, now
			return s.putExecution(tx, exec, now)
		}
		if len(items) > MaxTasksPerExecution {
			exec.StatusMessage = fmt.Sprintf("%d artifacts selected: the first %d are preheated (MaxTasksPerExecution)", len(items), MaxTasksPerExecution)
			items = items[:MaxTasksPerExecution]
		}
		for _, it := range items {
			job, err := jobs.EnqueueTx(tx, jobs.Spec{Kind: TaskKind, MaxAttempts: TaskAttempts,
				Payload: taskPayload{Policy: pl.PolicyID, Execution: j.ID}}, now)
			if err != nil {
				return err
			}
			t := Task{ID: job.ID, Execution: j.ID, JobID: job.ID, Repository: it.Repository, Tag: it.Tag, Digest: it.Digest,
				MediaType: it.MediaType, Status: RunPending, CreatedAt: now}
			if err := Tasks.In(tx).Put(t); err != nil {
				return err
			}
			if err := appendLog(tx, t.Key(), now, fmt.Sprintf("queued: preheat %s:%s (%s), %s execution %d", t.Repository, t.Tag, t.Digest,
				exec.Trigger, exec.ID)); err != nil {
				return err
			}
		}
		queued = len(items) > 0
		exec.Metrics = Metrics{Total: len(items), Pending: len(items)}
		exec.Status = RunRunning
		if len(items) == 0 {
			exec.Status, exec.EndTime = RunSuccess, now
			if exec.StatusMessage == "" {
				exec.StatusMessage = "no artifacts to preheat"
			}
		}
		return s.putExecution(tx, exec, now)
	})
	if err == nil && queued {
		s.queue.Notify()
	}
	return err
}

// putExecution stores exec and, when it is new, sweeps its policy's
// executions beyond MaxExecutionsPerPolicy (the oldest ended ones).
func (s *Service) putExecution(tx meta.Tx, exec Execution, now time.Time) error {
	if err := Executions.In(tx).Put(exec); err != nil {
		return err
	}
	all, err := policyExecutions(tx, exec.PolicyID)
	if err != nil {
		return err
	}
	extra := len(all) - MaxExecutionsPerPolicy
	for _, e := range all {
		if extra <= 0 {
			break
		}
		if e.ID == exec.ID || !e.Status.Final() {
			continue
		}
		if err := deleteExecution(tx, e, now); err != nil {
			return err
		}
		extra--
	}
	return nil
}
