package preheat

import (
	"context"
	"slices"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/meta"
)

// Start queues a manual execution of policy name of project and returns
// it, Pending (its RunKind job selects the artifacts and queues the
// tasks): for the project's administrators. A disabled policy, or one
// whose instance is disabled, is ErrInvalid; ErrNotFound without such a
// policy. A manual run preheats every artifact the policy selects, also
// those preheated before.
func (s *Service) Start(ctx context.Context, actor auth.Principal, project, policy string) (Execution, error) {
	var exec Execution
	err := s.store.Update(ctx, func(tx meta.Tx) error {
		proj, err := projectAdmin(tx, actor, project, "run preheat policies")
		if err != nil {
			return err
		}
		p, err := policyIn(tx, proj, policy)
		if err != nil {
			return err
		}
		if !p.Enabled {
			return invalid("enabled", "preheat policy %s is disabled: enable it to run it", p.Name)
		}
		if _, err := checkProvider(tx, p); err != nil {
			return err
		}
		now := s.stamp()
		job, err := enqueueRun(tx, runPayload{PolicyID: p.ID, Project: p.Project, Policy: p.Name, Trigger: ExecManual, Operator: actor.Name}, now)
		if err != nil {
			return err
		}
		exec = Execution{ID: job.ID, PolicyID: p.ID, Policy: p.Name, Project: p.Project, Trigger: ExecManual, Operator: actor.Name,
			Status: RunPending, StartTime: now}
		return s.putExecution(tx, exec, now)
	})
	if err != nil {
		return Execution{}, err
	}
	s.queue.Notify()
	return exec, nil
}

// policyFor checks that actor may act on the preheat policies of project
// (what names the action) and returns policy name.
func policyFor(tx meta.Tx, actor auth.Principal, project, name, what string) (Policy, error) {
	proj, err := projectAdmin(tx, actor, project, what)
	if err != nil {
		return Policy{}, err
	}
	return policyIn(tx, proj, name)
}

// executionOf reads execution id of p, or ErrNotFound.
func executionOf(tx meta.Tx, p Policy, id uint64) (Execution, error) {
	e, err := Executions.In(tx).Get(ExecutionKey(p.ID, id))
	return e, missing(err, "execution %d of preheat policy %s", id, p.Name)
}

// Executions returns page of the executions of policy name of project,
// newest first, and how many are kept (the last MaxExecutionsPerPolicy):
// for the project's administrators.
func (s *Service) Executions(ctx context.Context, actor auth.Principal, project, policy string, page Page) ([]Execution, int, error) {
	var list []Execution
	if err := s.store.View(ctx, func(tx meta.Tx) error {
		p, err := policyFor(tx, actor, project, policy, "read preheat executions")
		if err != nil {
			return err
		}
		list, err = policyExecutions(tx, p.ID)
		return err
	}); err != nil {
		return nil, 0, err
	}
	slices.Reverse(list)
	return window(list, page)
}

// Execution returns execution id of policy name of project (ErrNotFound
// when the policy has no such execution): for the project's
// administrators.
func (s *Service) Execution(ctx context.Context, actor auth.Principal, project, policy string, id uint64) (Execution, error) {
	var e Execution
	err := s.store.View(ctx, func(tx meta.Tx) error {
		p, err := policyFor(tx, actor, project, policy, "read preheat executions")
		if err != nil {
			return err
		}
		e, err = executionOf(tx, p, id)
		return err
	})
	return e, err
}

// Stop stops execution id of policy name of project: its tasks not yet
// ended are Stopped and their jobs canceled (a provider job already
// started runs on at the provider: providers have no cancel), and the
// execution ends Stopped. Stopping an execution that has ended changes
// nothing (as in Harbor). It returns the execution: for the project's
// administrators.
func (s *Service) Stop(ctx context.Context, actor auth.Principal, project, policy string, id uint64) (Execution, error) {
	var e Execution
	err := s.store.Update(ctx, func(tx meta.Tx) error {
		p, err := policyFor(tx, actor, project, policy, "stop preheat executions")
		if err != nil {
			return err
		}
		if e, err = executionOf(tx, p, id); err != nil || e.Status.Final() {
			return err
		}
		now := s.stamp()
		tasks, err := executionTasks(tx, id)
		if err != nil {
			return err
		}
		msg := "stopped by " + actorName(actor)
		for _, t := range tasks {
			if t.Status.Final() {
				continue
			}
			if err := dropJob(tx, t.JobID, now); err != nil {
				return err
			}
			e.Metrics.move(t.Status, RunStopped)
			t.Status, t.Message, t.EndTime = RunStopped, msg, now
			if err := Tasks.In(tx).Put(t); err != nil {
				return err
			}
			if err := appendLog(tx, t.Key(), now, msg); err != nil {
				return err
			}
		}
		if !e.Planned {
			if err := dropJob(tx, e.ID, now); err != nil {
				return err
			}
		}
		e.Status, e.StatusMessage, e.EndTime = RunStopped, msg, now
		return Executions.In(tx).Put(e)
	})
	return e, err
}

// actorName names actor in messages.
func actorName(actor auth.Principal) string {
	if actor.Name == "" {
		return "anonymous"
	}
	return actor.Name
}

// Tasks returns page of the tasks of execution id of policy name of
// project, in id order, and how many it has: for the project's
// administrators.
func (s *Service) Tasks(ctx context.Context, actor auth.Principal, project, policy string, id uint64, page Page) ([]Task, int, error) {
	var tasks []Task
	if err := s.store.View(ctx, func(tx meta.Tx) error {
		p, err := policyFor(tx, actor, project, policy, "read preheat tasks")
		if err != nil {
			return err
		}
		if _, err := executionOf(tx, p, id); err != nil {
			return err
		}
		tasks, err = executionTasks(tx, id)
		return err
	}); err != nil {
		return nil, 0, err
	}
	return window(tasks, page)
}

// TaskLog returns the log of task taskID of execution id of policy name
// of project: timestamped lines, the last MaxTaskLogBytes of them
// (ErrNotFound when the execution has no such task): for the project's
// administrators.
func (s *Service) TaskLog(ctx context.Context, actor auth.Principal, project, policy string, id, taskID uint64) (string, error) {
	var log string
	err := s.store.View(ctx, func(tx meta.Tx) error {
		p, err := policyFor(tx, actor, project, policy, "read preheat task logs")
		if err != nil {
			return err
		}
		if _, err := executionOf(tx, p, id); err != nil {
			return err
		}
		t, err := Tasks.In(tx).Get(TaskKey(id, taskID))
		if err != nil {
			return missing(err, "task %d of preheat execution %d", taskID, id)
		}
		log, err = readLog(tx, t.Key())
		return err
	})
	return log, err
}
