package replication

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/netguard"
)

// taskLogLines bounds a task's kept log.
const taskLogLines = 200

// appendLog adds a timestamped line to a task log, keeping the last
// taskLogLines.
func appendLog(log []string, at time.Time, format string, args ...any) []string {
	log = append(log, at.Format(time.RFC3339)+" "+fmt.Sprintf(format, args...))
	if len(log) > taskLogLines {
		log = append(log[:0:0], log[len(log)-taskLogLines:]...)
	}
	return log
}

// task is the TaskKind handler: one attempt at one artifact, in named
// steps: read the job's task, begin the attempt (stale jobs stop here),
// run it, decide its outcome (decide) and record it.
func (e *Engine) task(ctx context.Context, j meta.Job) error {
	ref, err := taskRefOf(j)
	if err != nil {
		return jobs.Permanent(err)
	}
	a, err := e.beginAttempt(ctx, j, ref)
	if errors.Is(err, meta.ErrNotFound) {
		return jobs.Permanent(err)
	}
	if err != nil || a == nil {
		return err
	}
	began := time.Now()
	res, runErr := a.run(ctx)
	took := time.Since(began)
	o := decide(runErr, ctx.Err() != nil, j.Attempts, j.MaxAttempts)
	parked, err := e.recordAttempt(context.WithoutCancel(ctx), j, ref, a, o, res, runErr)
	if err != nil {
		return err
	}
	if e.observe != nil {
		e.observe(TaskAttempt{Operation: a.task.Operation, Outcome: o.observed(), Bytes: atomic.LoadInt64(&a.sent), Took: took})
	}
	if o == outcomeParked {
		e.log().Warn("replication: registry unreachable, task waiting", "execution", ref.execution, "task", ref.id, "job", parked.ID, "err", runErr)
	}
	return o.jobError(runErr)
}

// taskRef names the task a TaskKind job runs.
type taskRef struct{ execution, id uint64 }

// taskRefOf reads a TaskKind job's payload: a task's first job runs the
// task of its own id.
func taskRefOf(j meta.Job) (taskRef, error) {
	var pl taskPayload
	if err := json.Unmarshal(j.Payload, &pl); err != nil {
		return taskRef{}, fmt.Errorf("replication: job %d: %w", j.ID, err)
	}
	if pl.Task == 0 {
		pl.Task = j.ID
	}
	return taskRef{execution: pl.Execution, id: pl.Task}, nil
}

// attempt is one attempt at a task, begun.
type attempt struct {
	task Task
	// p is the policy to run, or perr why it cannot run.
	p    Policy
	perr error
	// sent counts the bytes sent to the destination (atomically).
	sent int64
	log  taskLog
}

// beginAttempt marks the task in progress for job j, logs the attempt and
// resolves its policy; nil when the job is stale (see stale).
func (e *Engine) beginAttempt(ctx context.Context, j meta.Job, ref taskRef) (*attempt, error) {
	a := &attempt{}
	skip := false
	err := e.store.Update(ctx, func(tx meta.Tx) error {
		t, err := Tasks.In(tx).Get(TaskKey(ref.execution, ref.id))
		if err != nil {
			return err
		}
		if skip = stale(t, j.ID); skip {
			return nil
		}
		now := time.Now().UTC()
		t.Status, t.Attempts = StatusInProgress, t.Attempts+1
		if t.StartTime.IsZero() {
			t.StartTime = now
		}
		t.Log = appendLog(t.Log, now, "attempt %d of %d (job %d): %s %s:%s → %s", j.Attempts, max(j.MaxAttempts, 1), j.ID,
			t.Operation, t.Repository, Item{Tag: t.Tag, Digest: t.Digest}.Ref(), t.Destination)
		exec, err := Executions.In(tx).Get(ExecutionKey(ref.execution))
		if err != nil {
			return err
		}
		rec, err := Policies.In(tx).Get(exec.Policy)
		if err == nil {
			a.p, a.perr = e.resolve(tx, rec, &a.sent)
		} else {
			a.p, a.perr = Policy{}, fmt.Errorf("%w %q: %w", ErrPolicy, exec.Policy, err)
		}
		a.task = t
		return Tasks.In(tx).Put(t)
	})
	if err != nil || skip {
		return nil, err
	}
	return a, nil
}

// run copies or deletes the task's artifact (or fails with why its
// policy cannot run).
func (a *attempt) run(ctx context.Context) (Result, error) {
	if a.perr != nil {
		return Result{}, a.perr
	}
	t := a.task
	return Do(ctx, a.p, Item{Operation: t.Operation, Repository: t.Repository, Tag: t.Tag, Digest: t.Digest}, a.log.add)
}

// recordAttempt records outcome o of the attempt on its task (unless the
// task was stopped or moved on meanwhile) and, when the task ends, on its
// execution, which ends with its last task. A parked task gets its next
// job here, which it returns.
func (e *Engine) recordAttempt(ctx context.Context, j meta.Job, ref taskRef, a *attempt, o outcome, res Result, runErr error) (meta.Job, error) {
	var next meta.Job
	err := e.store.Update(ctx, func(tx meta.Tx) error {
		t, err := Tasks.In(tx).Get(TaskKey(ref.execution, ref.id))
		if err != nil || stale(t, j.ID) {
			return err // stopped meanwhile
		}
		now := time.Now().UTC()
		t.Log = a.log.applyTo(t.Log)
		if o == outcomeParked {
			next, err = jobs.EnqueueTx(tx, jobs.Spec{Kind: TaskKind, Payload: taskPayload{Execution: ref.execution, Task: ref.id},
				MaxAttempts: j.MaxAttempts, RunAt: now.Add(e.parkDelay())}, now)
			if err != nil {
				return err
			}
		}
		settle(&t, o, res, runErr, atomic.LoadInt64(&a.sent), next, now)
		if err := Tasks.In(tx).Put(t); err != nil || !o.ends() {
			return err
		}
		exec, err := Executions.In(tx).Get(ExecutionKey(ref.execution))
		if err != nil {
			return err
		}
		countEnded(&exec, t)
		rec, _ := Policies.In(tx).Get(exec.Policy)
		return finishIfDone(tx, &exec, rec, now)
	})
	return next, err
}

// taskLog collects an attempt's log lines, from the copy's goroutines,
// with the time each was logged, until they are recorded.
type taskLog struct {
	mu    sync.Mutex
	lines []func([]string) []string
}

// add logs a line (the log function Do is given).
func (l *taskLog) add(format string, args ...any) {
	now := time.Now().UTC()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, func(log []string) []string { return appendLog(log, now, format, args...) })
}

// applyTo appends the collected lines to log.
func (l *taskLog) applyTo(log []string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, add := range l.lines {
		log = add(log)
	}
	return log
}

// permanentError reports a failure that a retry will not fix: the
// registry refused the credentials or the request (412: a policy of the
// project, such as an immutable tag or content trust), the artifact is
// gone, or the guard refuses the registry's address.
func permanentError(err error) bool {
	if errors.Is(err, ErrPolicy) || errors.Is(err, netguard.ErrForbiddenAddress) {
		return true
	}
	var terr *transport.Error
	if !errors.As(err, &terr) {
		return false
	}
	switch terr.StatusCode {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusMethodNotAllowed,
		http.StatusPreconditionFailed:
		return true
	}
	return false
}

// unreachable reports a failure to reach a registry at all: no
// connection, or a gateway saying the registry behind it is down.
func unreachable(err error) bool {
	var nerr *net.OpError
	if errors.As(err, &nerr) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var terr *transport.Error
	if errors.As(err, &terr) {
		switch terr.StatusCode {
		case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
	}
	return false
}
