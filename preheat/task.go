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

// taskPayload is a TaskKind job's payload.
type taskPayload struct {
	Policy    int64  `json:"policy_id"`
	Execution uint64 `json:"execution_id"`
	// Task is the task's id; 0 means the job's own (a task's first job).
	Task uint64 `json:"task_id,omitempty"`
}

// taskRun is what a TaskKind job read before it asks the provider.
type taskRun struct {
	job      meta.Job
	ref      taskPayload
	task     Task
	exec     Execution
	scope    string
	instance Instance
	instErr  error
}

// runTask is the TaskKind handler. Its first job asks the provider to
// preheat the artifact (retried by the queue up to TaskAttempts times
// when the provider cannot be reached); each later job reads the
// provider job's status once and, while it is not done, enqueues the next
// read due a poll interval later, until the task has run for the timeout
// (WithPolling). A job that is no longer its task's (the task was stopped
// or moved on) does nothing.
func (s *Service) runTask(ctx context.Context, j meta.Job) error {
	var ref taskPayload
	if err := json.Unmarshal(j.Payload, &ref); err != nil {
		return jobs.Permanent(fmt.Errorf("preheat: job %d: %w", j.ID, err))
	}
	if ref.Task == 0 {
		ref.Task = j.ID
	}
	r, ok, err := s.readTask(ctx, j, ref)
	if err != nil || !ok {
		return err
	}
	if r.instErr != nil {
		return s.endTask(ctx, r, RunError, r.instErr.Error())
	}
	p, err := s.provider(r.instance)
	if err != nil {
		return s.endTask(ctx, r, RunError, err.Error())
	}
	if !r.task.Requested {
		return s.request(ctx, r, p)
	}
	return s.readStatus(ctx, r, p)
}

// readTask reads the task of job j; ok is false when the job is stale.
func (s *Service) readTask(ctx context.Context, j meta.Job, ref taskPayload) (taskRun, bool, error) {
	r := taskRun{job: j, ref: ref}
	ok := false
	err := s.store.View(ctx, func(tx meta.Tx) error {
		var err error
		if r.task, err = Tasks.In(tx).Get(TaskKey(ref.Execution, ref.Task)); err != nil {
			return err
		}
		if r.task.JobID != j.ID || r.task.Status.Final() {
			return nil
		}
		if r.exec, err = Executions.In(tx).Get(ExecutionKey(ref.Policy, ref.Execution)); err != nil {
			return err
		}
		r.scope = ScopeSinglePeer
		if p, err := Policies.In(tx).Get(PolicyKey(r.exec.Project, r.exec.Policy)); err == nil && p.ID == ref.Policy {
			r.scope = p.Scope
		}
		r.instance, r.instErr = instanceByID(tx, r.exec.InstanceID)
		if r.instErr != nil && !errors.Is(r.instErr, meta.ErrNotFound) {
			return r.instErr
		}
		ok = true
		return nil
	})
	if errors.Is(err, meta.ErrNotFound) {
		return r, false, nil // deleted with its execution
	}
	return r, ok, err
}

// request asks the provider to preheat the task's artifact.
func (s *Service) request(ctx context.Context, r taskRun, p Provider) error {
	t := r.task
	if s.registry == "" {
		return s.endTask(ctx, r, RunError, "this registry's external URL is not configured (preheat.WithRegistryURL)")
	}
	img := Image{Repository: t.Repository, Tag: t.Tag, Digest: t.Digest, MediaType: t.MediaType, Scope: r.scope,
		URL: s.registry + "/v2/" + t.Repository + "/manifests/" + t.Tag}
	if s.creds != nil {
		h, err := s.creds(ctx, t.Repository)
		if err != nil {
			return s.attemptFailed(ctx, r, fmt.Errorf("pull credentials for %s: %w", t.Repository, err))
		}
		img.Headers = h
	}
	job, err := p.Preheat(ctx, img)
	if err != nil {
		return s.attemptFailed(ctx, r, fmt.Errorf("preheat request to %s: %w", describeInstance(r.instance), err))
	}
	return s.record(ctx, r, func(tx meta.Tx, t *Task, exec *Execution, now time.Time) ([]string, error) {
		t.Requested, t.ProviderJobID, t.StartTime = true, job.ID, now
		exec.Metrics.move(t.Status, RunRunning)
		t.Status = RunRunning
		lines := []string{fmt.Sprintf("requested from %s (%s %s): provider job %q is %s", describeInstance(r.instance), r.instance.Vendor,
			r.instance.Endpoint, job.ID, job.Status)}
		if job.Status.Done() {
			return append(lines, finish(t, exec, job, now)...), nil
		}
		return lines, s.next(tx, t, exec, now)
	})
}

// readStatus reads the provider job's status once.
func (s *Service) readStatus(ctx context.Context, r taskRun, p Provider) error {
	job, err := p.Job(ctx, r.task.ProviderJobID)
	if err != nil && ctx.Err() != nil {
		return err // the runner stops or the job was canceled: not the provider's fault
	}
	return s.record(ctx, r, func(tx meta.Tx, t *Task, exec *Execution, now time.Time) ([]string, error) {
		t.Polls++
		var lines []string
		switch {
		case err != nil:
			lines = append(lines, fmt.Sprintf("reading the status of provider job %q failed: %v", t.ProviderJobID, err))
		case job.Status.Done():
			return finish(t, exec, job, now), nil
		default:
			lines = append(lines, fmt.Sprintf("provider job %q is %s", t.ProviderJobID, job.Status))
		}
		if now.Sub(t.StartTime) >= s.timeout {
			msg := fmt.Sprintf("not done %v after it was requested (the task timeout)", s.timeout)
			end(t, exec, RunError, msg, now)
			return append(lines, msg), nil
		}
		return lines, s.next(tx, t, exec, now)
	})
}

// next enqueues the task's next status read, due a poll interval from
// now, and makes it the task's job.
func (s *Service) next(tx meta.Tx, t *Task, exec *Execution, now time.Time) error {
	job, err := jobs.EnqueueTx(tx, jobs.Spec{Kind: TaskKind, MaxAttempts: TaskAttempts, RunAt: now.Add(s.poll),
		Payload: taskPayload{Policy: exec.PolicyID, Execution: t.Execution, Task: t.ID}}, now)
	if err != nil {
		return err
	}
	t.JobID = job.ID
	return nil
}

// finish ends the task as the provider's final job says, and returns
// the log line.
func finish(t *Task, exec *Execution, job Job, now time.Time) []string {
	if job.Status == StatusSuccess {
		end(t, exec, RunSuccess, "", now)
		return []string{fmt.Sprintf("provider job %q succeeded: %s:%s is preheated", job.ID, t.Repository, t.Tag)}
	}
	msg := job.Message
	if msg == "" {
		msg = "the provider reports the preheat failed"
	}
	end(t, exec, RunError, msg, now)
	return []string{fmt.Sprintf("provider job %q failed: %s", job.ID, msg)}
}

// end gives t its final status and counts it in exec, which ends with its
// last task.
func end(t *Task, exec *Execution, status RunStatus, msg string, now time.Time) {
	exec.Metrics.move(t.Status, status)
	t.Status, t.Message, t.EndTime = status, msg, now
	settle(exec, now)
}

// settle ends exec when none of its tasks is left to run: in error if
// one failed, else stopped if one was stopped, else successful (Harbor's
// order).
func settle(exec *Execution, now time.Time) {
	m := exec.Metrics
	if !exec.Planned || exec.Status.Final() || m.Pending+m.Running > 0 {
		return
	}
	switch {
	case m.Error > 0:
		exec.Status = RunError
		exec.StatusMessage = fmt.Sprintf("%d of %d tasks failed", m.Error, m.Total)
	case m.Stopped > 0:
		exec.Status = RunStopped
	default:
		exec.Status = RunSuccess
	}
	exec.EndTime = now
}

// attemptFailed handles a failed request to the provider: the job is
// retried by the queue while it has attempts left, and the task fails
// with the error on the last one.
func (s *Service) attemptFailed(ctx context.Context, r taskRun, err error) error {
	if ctx.Err() != nil {
		return err
	}
	last := r.job.Attempts >= max(r.job.MaxAttempts, 1)
	if !last {
		if lerr := s.store.Update(context.WithoutCancel(ctx), func(tx meta.Tx) error {
			return appendLog(tx, r.task.Key(), s.stamp(), fmt.Sprintf("attempt %d of %d failed: %v; retrying", r.job.Attempts,
				max(r.job.MaxAttempts, 1), err))
		}); lerr != nil {
			s.logger.Warn("preheat: logging a failed attempt", "task", r.task.ID, "err", lerr)
		}
		return err
	}
	s.logger.Warn("preheat: task failed", "execution", r.task.Execution, "task", r.task.ID, "repository", r.task.Repository,
		"tag", r.task.Tag, "err", err)
	return s.endTask(ctx, r, RunError, err.Error())
}

// endTask ends the task with status and msg.
func (s *Service) endTask(ctx context.Context, r taskRun, status RunStatus, msg string) error {
	return s.record(ctx, r, func(_ meta.Tx, t *Task, exec *Execution, now time.Time) ([]string, error) {
		end(t, exec, status, msg, now)
		return []string{string(status) + ": " + msg}, nil
	})
}

// record applies change to the task and its execution in one
// transaction, with the log lines it returns, unless the task was
// stopped or moved on meanwhile. A task that succeeds is remembered for
// the dedupe.
func (s *Service) record(ctx context.Context, r taskRun, change func(tx meta.Tx, t *Task, exec *Execution, now time.Time) ([]string, error)) error {
	return s.store.Update(context.WithoutCancel(ctx), func(tx meta.Tx) error {
		t, err := Tasks.In(tx).Get(r.task.Key())
		if errors.Is(err, meta.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if t.JobID != r.job.ID || t.Status.Final() {
			return nil
		}
		exec, err := Executions.In(tx).Get(r.exec.Key())
		if err != nil {
			return missing(err, "preheat execution %d", r.exec.ID)
		}
		now := s.stamp()
		lines, err := change(tx, &t, &exec, now)
		if err != nil {
			return err
		}
		if err := Tasks.In(tx).Put(t); err != nil {
			return err
		}
		if err := Executions.In(tx).Put(exec); err != nil {
			return err
		}
		if t.Status == RunSuccess {
			if err := tx.Records(kindDone).Put(doneKey(exec.PolicyID, exec.InstanceID, t.Digest), []byte(now.Format(time.RFC3339))); err != nil {
				return err
			}
		}
		if len(lines) == 0 {
			return nil
		}
		return appendLog(tx, t.Key(), now, lines...)
	})
}
