package replication

import (
	"context"
	"fmt"
	"slices"

	"github.com/berthreg/berth/meta"
)

// statuses are the statuses of executions and tasks, in the order they
// are reached.
var statuses = []Status{StatusPending, StatusInProgress, StatusSucceeded, StatusFailed, StatusStopped}

// checkStatus refuses a status filter that is no status ("" is any).
func checkStatus(s Status) error {
	if s != "" && !slices.Contains(statuses, s) {
		return invalid("status", "%q is not one of %v", s, statuses)
	}
	return nil
}

// ExecutionFilter selects executions; empty fields select any.
type ExecutionFilter struct {
	// Policy names the executions' policy.
	Policy string
	// Status and Trigger are theirs.
	Status  Status
	Trigger TriggerType
}

// check refuses a filter on a status or trigger that does not exist.
func (f ExecutionFilter) check() error {
	if err := checkStatus(f.Status); err != nil {
		return err
	}
	switch f.Trigger {
	case "", TriggerManual, TriggerScheduled, TriggerEvent:
		return nil
	}
	return invalid("trigger", "%q is not manual, scheduled or event_based", f.Trigger)
}

// matches reports whether the filter selects e.
func (f ExecutionFilter) matches(e Execution) bool {
	return (f.Policy == "" || e.Policy == f.Policy) && (f.Status == "" || e.Status == f.Status) &&
		(f.Trigger == "" || e.Trigger == f.Trigger)
}

// Start begins a manual execution of policy name and returns it (its
// planning runs as a job); meta.ErrNotFound without such a policy.
func (s *Service) Start(ctx context.Context, policy string) (Execution, error) {
	exec, err := s.engine.Start(ctx, policy)
	return exec, missing(err, "replication policy %s", policy)
}

// Execution returns execution id, or meta.ErrNotFound.
func (s *Service) Execution(ctx context.Context, id uint64) (Execution, error) {
	var e Execution
	err := s.store.View(ctx, func(tx meta.Tx) error {
		var err error
		e, err = Executions.In(tx).Get(ExecutionKey(id))
		return missing(err, "replication execution %d", id)
	})
	return e, err
}

// Executions returns page of the executions f selects, newest first, and
// how many f selects in all (ErrInvalid for an unknown status or
// trigger).
func (s *Service) Executions(ctx context.Context, f ExecutionFilter, page Page) ([]Execution, int, error) {
	if err := f.check(); err != nil {
		return nil, 0, err
	}
	var all []Execution
	if err := s.store.View(ctx, func(tx meta.Tx) error {
		var err error
		all, err = Executions.In(tx).List("", 0)
		return err
	}); err != nil {
		return nil, 0, err
	}
	var list []Execution
	for _, e := range slices.Backward(all) {
		if f.matches(e) {
			list = append(list, e)
		}
	}
	return window(list, page)
}

// Stop stops execution id (see Engine.Stop): ErrFinal when it has ended,
// meta.ErrNotFound when there is none.
func (s *Service) Stop(ctx context.Context, id uint64) error {
	err := s.engine.Stop(ctx, id)
	if err == nil {
		return nil
	}
	e, gerr := s.Execution(ctx, id)
	switch {
	case gerr != nil:
		return gerr
	case e.Status.Final():
		return &ruleError{kind: ErrFinal, cause: err, msg: fmt.Sprintf("replication execution %d has ended (%s)", id, e.Status)}
	}
	return err
}

// Retry runs the failed tasks of execution id again and returns how
// many; meta.ErrNotFound when there is no such execution.
func (s *Service) Retry(ctx context.Context, id uint64) (int, error) {
	n, err := s.engine.Retry(ctx, id)
	return n, missing(err, "replication execution %d", id)
}

// Tasks returns page of the tasks of execution id with the given status
// ("" for any), in id order, and how many there are in all;
// meta.ErrNotFound when there is no such execution, ErrInvalid for an
// unknown status.
func (s *Service) Tasks(ctx context.Context, id uint64, status Status, page Page) ([]Task, int, error) {
	if err := checkStatus(status); err != nil {
		return nil, 0, err
	}
	var tasks []Task
	if err := s.store.View(ctx, func(tx meta.Tx) error {
		if _, err := Executions.In(tx).Get(ExecutionKey(id)); err != nil {
			return missing(err, "replication execution %d", id)
		}
		var err error
		tasks, err = ExecutionTasks(tx, id, 0, 0)
		return err
	}); err != nil {
		return nil, 0, err
	}
	if status != "" {
		tasks = slices.DeleteFunc(tasks, func(t Task) bool { return t.Status != status })
	}
	return window(tasks, page)
}

// TaskLog returns the log lines of task taskID of execution id, oldest
// first; meta.ErrNotFound when the execution has no such task.
func (s *Service) TaskLog(ctx context.Context, id, taskID uint64) ([]string, error) {
	var t Task
	err := s.store.View(ctx, func(tx meta.Tx) error {
		var err error
		t, err = Tasks.In(tx).Get(TaskKey(id, taskID))
		return err
	})
	return t.Log, missing(err, "task %d of replication execution %d", taskID, id)
}
