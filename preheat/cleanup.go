package preheat

import (
	"errors"
	"strings"
	"time"

	"github.com/berthreg/berth/generation"
	"github.com/berthreg/berth/meta"
)

// pageSize is the page of the prefix walks.
const pageSize = 256

// walk calls fn with each record of table whose key starts with prefix,
// in key order, a page at a time; fn returning false stops the walk.
func walk[T any](tx meta.Tx, rt meta.RecordType[T], prefix string, fn func(T) bool) error {
	after := prefix
	for {
		page, err := rt.In(tx).List(after, pageSize)
		if err != nil {
			return err
		}
		for _, v := range page {
			if !strings.HasPrefix(rt.Key(v), prefix) || !fn(v) {
				return nil
			}
		}
		if len(page) < pageSize {
			return nil
		}
		after = rt.Key(page[len(page)-1])
	}
}

// policyExecutions lists the executions of policy id, oldest first.
func policyExecutions(tx meta.Tx, policy int64) ([]Execution, error) {
	var out []Execution
	err := walk(tx, Executions, IDKey(policy)+"/", func(e Execution) bool { out = append(out, e); return true })
	return out, err
}

// executionTasks lists the tasks of execution id, in id order.
func executionTasks(tx meta.Tx, id uint64) ([]Task, error) {
	var out []Task
	err := walk(tx, Tasks, IDKey(id)+"/", func(t Task) bool { out = append(out, t); return true })
	return out, err
}

// dropJob cancels job id if it is still to run or running (its worker
// then records nothing); a finished or pruned job is left.
func dropJob(tx meta.Tx, id uint64, now time.Time) error {
	j, err := tx.Jobs().Get(id)
	switch {
	case errors.Is(err, meta.ErrNotFound):
		return nil
	case err != nil:
		return err
	case !j.State.Active():
		return nil
	}
	j.State, j.FinishedAt, j.Worker, j.LeaseUntil, j.UpdatedAt = meta.JobCanceled, now, "", time.Time{}, now
	return tx.Jobs().Put(j)
}

// deleteExecution deletes execution e with its tasks and their logs,
// canceling the jobs still to run.
func deleteExecution(tx meta.Tx, e Execution, now time.Time) error {
	tasks, err := executionTasks(tx, e.ID)
	if err != nil {
		return err
	}
	for _, t := range tasks {
		if !t.Status.Final() {
			if err := dropJob(tx, t.JobID, now); err != nil {
				return err
			}
		}
		if err := Tasks.In(tx).Delete(t.Key()); err != nil {
			return err
		}
		if err := tx.Records(kindLogs).Delete(t.Key()); err != nil && !errors.Is(err, meta.ErrNotFound) {
			return err
		}
	}
	if !e.Planned {
		if err := dropJob(tx, e.ID, now); err != nil {
			return err
		}
	}
	return Executions.In(tx).Delete(e.Key())
}

// deletePolicy deletes p with its executions, tasks, logs and dedupe
// records, canceling their jobs.
func deletePolicy(tx meta.Tx, p Policy, now time.Time) error {
	execs, err := policyExecutions(tx, p.ID)
	if err != nil {
		return err
	}
	for _, e := range execs {
		if err := deleteExecution(tx, e, now); err != nil {
			return err
		}
	}
	done, err := meta.RecordsWithPrefix(tx.Records(kindDone), IDKey(p.ID)+"/", 0)
	if err != nil {
		return err
	}
	for _, r := range done {
		if err := tx.Records(kindDone).Delete(r.Key); err != nil {
			return err
		}
	}
	return Policies.In(tx).Delete(p.Key())
}

// DeleteProject deletes the preheat policies of project (and any an
// earlier project of the name left), with their executions, tasks and
// logs, canceling their jobs, in tx at now: the cleanup the accounts
// Manager runs when it deletes a project (accounts.WithProjectCleanup).
// The policies' schedules go when ScheduleAll next runs (it follows
// PoliciesGeneration, which this bumps); a fire meanwhile finds no policy
// and does nothing.
func DeleteProject(tx meta.Tx, project string, now time.Time) error {
	policies, err := projectPolicies(tx, project)
	if err != nil || len(policies) == 0 {
		return err
	}
	for _, p := range policies {
		if err := deletePolicy(tx, p, now); err != nil {
			return err
		}
	}
	return generation.Bump(tx, PoliciesGeneration)
}
