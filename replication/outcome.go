package replication

import (
	"fmt"
	"time"

	"github.com/berthreg/berth/internal/outage"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
)

// The outcome logic of tasks and executions: pure functions of what an
// attempt or a planning run returned, which the job handlers (task,
// plan) apply inside their transactions.

// outcome is what becomes of a task after one attempt.
type outcome int

const (
	// outcomeSucceeded: the task is done.
	outcomeSucceeded outcome = iota
	// outcomeRetry: the attempt failed; the job runs again (with the
	// queue's backoff).
	outcomeRetry
	// outcomeInterrupted: the runner is shutting down; the job runs
	// again after the restart, the attempt only logged.
	outcomeInterrupted
	// outcomeParked: the registry could not be reached at the last
	// attempt; the task waits for it with a new job instead of failing.
	outcomeParked
	// outcomeFailed: the task failed for good.
	outcomeFailed
)

// String names the outcome (in test failures).
func (o outcome) String() string {
	return [...]string{"succeeded", "retry", "interrupted", "parked", "failed"}[o]
}

// observed names the outcome for an observer (TaskAttempt.Outcome).
func (o outcome) observed() string {
	return [...]string{"succeeded", "retried", "interrupted", "parked", "failed"}[o]
}

// decide is the outcome of an attempt that returned runErr: the attempt
// number and the job's MaxAttempts (at least 1) bound the retries; a
// failure while shutting down is only an interruption; a permanent error
// fails at once; an unreachable registry never uses a task up.
func decide(runErr error, shuttingDown bool, attempt, maxAttempts int) outcome {
	switch {
	case runErr == nil:
		return outcomeSucceeded
	case shuttingDown:
		return outcomeInterrupted
	case permanentError(runErr):
		return outcomeFailed
	case outage.Is(runErr):
		// Our own metadata store or storage is down: the job runner
		// gives the attempt back (within its bound), so the task is
		// retried whatever attempt this was.
		return outcomeRetry
	case attempt < max(maxAttempts, 1):
		return outcomeRetry
	case unreachable(runErr):
		return outcomeParked
	}
	return outcomeFailed
}

// ends reports an outcome after which the task is final (and counted in
// its execution).
func (o outcome) ends() bool { return o == outcomeSucceeded || o == outcomeFailed }

// jobError is what the task's job handler returns for the outcome: nil
// when the job is done with (the task succeeded, or waits with another
// job), a permanent error when it failed, the error itself for the
// queue to retry.
func (o outcome) jobError(runErr error) error {
	switch o {
	case outcomeSucceeded, outcomeParked:
		return nil
	case outcomeFailed:
		return jobs.Permanent(runErr)
	}
	return runErr
}

// settle records outcome o of an attempt on t at now: res is what it
// copied and sent the bytes it sent (added to the task's); next is the
// job a parked task waits with.
func settle(t *Task, o outcome, res Result, runErr error, sent int64, next meta.Job, now time.Time) {
	t.Bytes += sent
	switch o {
	case outcomeSucceeded:
		t.Status, t.Error, t.EndTime = StatusSucceeded, "", now
		t.Artifacts, t.Skipped = len(res.Copied), len(res.Skipped)
		t.Log = appendLog(t.Log, now, "done: %d manifests copied, %d already there, %d conflicts, %d bytes sent",
			len(res.Copied), len(res.Skipped), res.Conflicts, sent)
	case outcomeParked:
		t.JobID, t.Status, t.Error = next.ID, StatusPending, runErr.Error()
		t.Log = appendLog(t.Log, now, "registry unreachable: %v; waiting for it (job %d, next try at %s)", runErr, next.ID,
			next.RunAt.Format(time.RFC3339))
	case outcomeInterrupted:
		t.Log = appendLog(t.Log, now, "interrupted: %v", runErr)
	case outcomeFailed:
		t.Status, t.Error, t.EndTime = StatusFailed, runErr.Error(), now
		t.Log = appendLog(t.Log, now, "failed: %v", runErr)
	case outcomeRetry:
		t.Status, t.Error = StatusPending, runErr.Error()
		t.Log = appendLog(t.Log, now, "attempt failed, will retry: %v", runErr)
	}
}

// countEnded moves a task that has just ended from its execution's
// in-progress count to its final one, with its bytes and artifacts.
func countEnded(exec *Execution, t Task) {
	exec.InProgress--
	exec.Bytes += t.Bytes
	if t.Status == StatusSucceeded {
		exec.Succeeded++
		exec.Artifacts += t.Artifacts
	} else {
		exec.Failed++
	}
}

// done reports a planned execution none of whose tasks is active, which
// has not ended yet.
func done(exec Execution) bool {
	return exec.Planned && exec.InProgress == 0 && !exec.Status.Final()
}

// finalStatus is the status a done execution ends with, and its status
// text: failed when a task failed, stopped when one was stopped,
// succeeded otherwise.
func finalStatus(exec Execution) (Status, string) {
	switch {
	case exec.Failed > 0:
		return StatusFailed, fmt.Sprintf("%d of %d tasks failed", exec.Failed, exec.Total)
	case exec.Stopped > 0:
		return StatusStopped, exec.StatusText
	}
	return StatusSucceeded, ""
}

// stale reports a task that job must not run: it has ended (stopped,
// say) or another job runs it now (retried, parked).
func stale(t Task, job uint64) bool { return t.Status.Final() || t.JobID != job }

// taskAttempts is the attempts each task of a policy gets: the policy's,
// else the engine's default, else 10.
func taskAttempts(policy, engine int) int {
	switch {
	case policy > 0:
		return policy
	case engine > 0:
		return engine
	}
	return 10
}

// planRefusal is why an execution cannot be planned: its policy cannot
// be loaded or resolved (perr), or is disabled and the execution was not
// started by hand.
func planRefusal(rec PolicyRecord, trigger TriggerType, perr error) error {
	if perr == nil && !rec.Enabled && trigger != TriggerManual {
		return fmt.Errorf("%w %q is disabled", ErrPolicy, rec.Name)
	}
	return perr
}

// planGivesUp reports a planning failure that ends the execution: a
// permanent one, the last of the job's attempts (at least 5), or one
// while shutting down; other failures are retried by the queue.
func planGivesUp(permanent bool, attempt, maxAttempts int, shuttingDown bool) bool {
	return permanent || attempt >= max(maxAttempts, 5) || shuttingDown
}
