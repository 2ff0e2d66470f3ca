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

// task is the TaskKind handler: one attempt at one artifact.
func (e *Engine) task(ctx context.Context, j meta.Job) error {
	var pl taskPayload
	if err := json.Unmarshal(j.Payload, &pl); err != nil {
		return jobs.Permanent(fmt.Errorf("replication: job %d: %w", j.ID, err))
	}
	id := pl.Task
	if id == 0 {
		id = j.ID
	}
	var (
		t     Task
		rec   PolicyRecord
		p     Policy
		perr  error
		bytes int64
		stale bool
	)
	err := e.Store.Update(ctx, func(tx meta.Tx) error {
		var err error
		if t, err = Tasks.In(tx).Get(TaskKey(pl.Execution, id)); err != nil {
			return err
		}
		if stale = t.Status.Final() || t.JobID != j.ID; stale {
			return nil
		}
		now := time.Now().UTC()
		t.Status, t.Attempts = StatusInProgress, t.Attempts+1
		if t.StartTime.IsZero() {
			t.StartTime = now
		}
		t.Log = appendLog(t.Log, now, "attempt %d of %d (job %d): %s %s:%s → %s", j.Attempts, max(j.MaxAttempts, 1), j.ID,
			t.Operation, t.Repository, Item{Tag: t.Tag, Digest: t.Digest}.Ref(), t.Destination)
		exec, err := Executions.In(tx).Get(ExecutionKey(pl.Execution))
		if err != nil {
			return err
		}
		if rec, perr = Policies.In(tx).Get(exec.Policy); perr == nil {
			p, perr = e.resolve(tx, rec, &bytes)
		} else {
			perr = fmt.Errorf("%w %q: %w", ErrPolicy, exec.Policy, perr)
		}
		return Tasks.In(tx).Put(t)
	})
	if errors.Is(err, meta.ErrNotFound) {
		return jobs.Permanent(err)
	}
	if err != nil || stale {
		return err
	}
	var (
		mu    sync.Mutex
		lines []func([]string) []string
	)
	logf := func(format string, args ...any) {
		now := time.Now().UTC()
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, func(l []string) []string { return appendLog(l, now, format, args...) })
	}
	var res Result
	runErr := perr
	if runErr == nil {
		res, runErr = Do(ctx, p, Item{Operation: t.Operation, Repository: t.Repository, Tag: t.Tag, Digest: t.Digest}, logf)
	}
	shutdown := runErr != nil && ctx.Err() != nil
	final := runErr == nil || !shutdown && (j.Attempts >= max(j.MaxAttempts, 1) || permanentError(runErr))
	// A registry that cannot be reached does not use up a task: at its
	// last attempt the task waits for it with a new job, so a long outage
	// ends in a catch-up, not in failed tasks.
	park := final && runErr != nil && !permanentError(runErr) && unreachable(runErr)
	var parked meta.Job
	err = e.Store.Update(context.WithoutCancel(ctx), func(tx meta.Tx) error {
		t, err := Tasks.In(tx).Get(TaskKey(pl.Execution, id))
		if err != nil || t.Status.Final() || t.JobID != j.ID {
			return err // stopped meanwhile
		}
		now := time.Now().UTC()
		mu.Lock()
		for _, add := range lines {
			t.Log = add(t.Log)
		}
		mu.Unlock()
		n := atomic.LoadInt64(&bytes)
		t.Bytes += n
		switch {
		case runErr == nil:
			t.Status, t.Error, t.EndTime = StatusSucceeded, "", now
			t.Artifacts, t.Skipped = len(res.Copied), len(res.Skipped)
			t.Log = appendLog(t.Log, now, "done: %d manifests copied, %d already there, %d conflicts, %d bytes sent", len(res.Copied), len(res.Skipped), res.Conflicts, n)
		case park:
			job, err := jobs.EnqueueTx(tx, jobs.Spec{Kind: TaskKind, Payload: taskPayload{Execution: pl.Execution, Task: id},
				MaxAttempts: j.MaxAttempts, RunAt: now.Add(e.parkDelay())}, now)
			if err != nil {
				return err
			}
			parked = job
			t.JobID, t.Status, t.Error = job.ID, StatusPending, runErr.Error()
			t.Log = appendLog(t.Log, now, "registry unreachable: %v; waiting for it (job %d, next try at %s)", runErr, job.ID, job.RunAt.Format(time.RFC3339))
			return Tasks.In(tx).Put(t)
		case shutdown:
			t.Log = appendLog(t.Log, now, "interrupted: %v", runErr)
			return Tasks.In(tx).Put(t)
		case final:
			t.Status, t.Error, t.EndTime = StatusFailed, runErr.Error(), now
			t.Log = appendLog(t.Log, now, "failed: %v", runErr)
		default:
			t.Status, t.Error = StatusPending, runErr.Error()
			t.Log = appendLog(t.Log, now, "attempt failed, will retry: %v", runErr)
			return Tasks.In(tx).Put(t)
		}
		if err := Tasks.In(tx).Put(t); err != nil {
			return err
		}
		exec, err := Executions.In(tx).Get(ExecutionKey(pl.Execution))
		if err != nil {
			return err
		}
		exec.InProgress--
		exec.Bytes += t.Bytes
		if runErr == nil {
			exec.Succeeded++
			exec.Artifacts += t.Artifacts
		} else {
			exec.Failed++
		}
		rec, _ := Policies.In(tx).Get(exec.Policy)
		return finishIfDone(tx, &exec, rec, now)
	})
	if err != nil {
		return err
	}
	if park {
		e.log().Warn("replication: registry unreachable, task waiting", "execution", pl.Execution, "task", id, "job", parked.ID, "err", runErr)
		return nil
	}
	if runErr != nil && final {
		return jobs.Permanent(runErr)
	}
	return runErr
}

// permanentError reports a failure that a retry will not fix: the
// registry refused the credentials or the request, the artifact is gone,
// or the guard refuses the registry's address.
func permanentError(err error) bool {
	if errors.Is(err, ErrPolicy) || errors.Is(err, netguard.ErrForbiddenAddress) {
		return true
	}
	var terr *transport.Error
	if !errors.As(err, &terr) {
		return false
	}
	switch terr.StatusCode {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusMethodNotAllowed:
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
