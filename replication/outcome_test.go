package replication

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/netguard"
	"github.com/berthreg/berth/storage"
)

// Errors as tasks meet them.
var (
	errBoom        = errors.New("boom")
	errRefused     = fmt.Errorf("replication: dial: %w", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED})
	errUnavailable = fmt.Errorf("replication: %w", &transport.Error{StatusCode: http.StatusServiceUnavailable})
	errDenied      = fmt.Errorf("replication: %w", &transport.Error{StatusCode: http.StatusUnauthorized})
	errForbidden   = fmt.Errorf("url: %w", netguard.ErrForbiddenAddress)
	errNoPolicy    = fmt.Errorf("%w %q: %w", ErrPolicy, "p", meta.ErrNotFound)
)

func TestDecide(t *testing.T) {
	for _, c := range []struct {
		name         string
		err          error
		shutdown     bool
		attempt, max int
		want         outcome
	}{
		{"success", nil, false, 1, 3, outcomeSucceeded},
		{"success while shutting down", nil, true, 1, 3, outcomeSucceeded},
		{"failure while shutting down", errBoom, true, 3, 3, outcomeInterrupted},
		{"unreachable while shutting down", errRefused, true, 3, 3, outcomeInterrupted},
		{"first failure", errBoom, false, 1, 3, outcomeRetry},
		{"last failure", errBoom, false, 3, 3, outcomeFailed},
		{"past the last", errBoom, false, 4, 3, outcomeFailed},
		{"no max is one attempt", errBoom, false, 1, 0, outcomeFailed},
		{"refused credentials at once", errDenied, false, 1, 3, outcomeFailed},
		{"forbidden address at once", errForbidden, false, 1, 3, outcomeFailed},
		{"a policy's refusal at once", fmt.Errorf("replication: %w", &transport.Error{StatusCode: http.StatusPreconditionFailed}), false, 1, 3, outcomeFailed},
		{"policy gone at once", errNoPolicy, false, 1, 3, outcomeFailed},
		{"unreachable, attempts left", errRefused, false, 1, 3, outcomeRetry},
		{"unreachable at the last", errRefused, false, 3, 3, outcomeParked},
		{"gateway down at the last", errUnavailable, false, 3, 3, outcomeParked},
		{"unreachable, no max", errRefused, false, 1, 0, outcomeParked},
		{"own store down at the last", fmt.Errorf("replication: %w", meta.ErrUnavailable), false, 3, 3, outcomeRetry},
		{"own storage down at the last", fmt.Errorf("replication: %w", storage.ErrUnavailable), false, 3, 3, outcomeRetry},
	} {
		if got := decide(c.err, c.shutdown, c.attempt, c.max); got != c.want {
			t.Errorf("%s: decide(%v, %v, %d, %d) = %v, want %v", c.name, c.err, c.shutdown, c.attempt, c.max, got, c.want)
		}
	}
}

func TestOutcomeJobError(t *testing.T) {
	permanentType := reflect.TypeOf(jobs.Permanent(errBoom))
	for _, c := range []struct {
		o                 outcome
		wantNil, wantPerm bool
		ends              bool
	}{
		{outcomeSucceeded, true, false, true},
		{outcomeParked, true, false, false},
		{outcomeFailed, false, true, true},
		{outcomeRetry, false, false, false},
		{outcomeInterrupted, false, false, false},
	} {
		runErr := errBoom
		if c.o == outcomeSucceeded {
			runErr = nil
		}
		err := c.o.jobError(runErr)
		switch {
		case c.wantNil && err != nil, !c.wantNil && !errors.Is(err, errBoom):
			t.Errorf("%v: jobError = %v", c.o, err)
		case c.wantPerm != (reflect.TypeOf(err) == permanentType):
			t.Errorf("%v: jobError = %#v, permanent %v", c.o, err, c.wantPerm)
		}
		if c.o.ends() != c.ends {
			t.Errorf("%v: ends = %v", c.o, c.o.ends())
		}
	}
}

func TestSettle(t *testing.T) {
	now := time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)
	start := now.Add(-time.Minute)
	next := meta.Job{ID: 77, RunAt: now.Add(time.Minute)}
	res := Result{Copied: make([]v1.Hash, 2), Skipped: make([]v1.Hash, 1), Conflicts: 1}
	for _, c := range []struct {
		o          outcome
		err        error
		wantStatus Status
		wantError  string
		wantEnd    bool
		wantJob    uint64
		wantLog    string
	}{
		{outcomeSucceeded, nil, StatusSucceeded, "", true, 5, "done: 2 manifests copied, 1 already there, 1 conflicts, 300 bytes sent"},
		{outcomeRetry, errBoom, StatusPending, "boom", false, 5, "attempt failed, will retry: boom"},
		{outcomeInterrupted, errBoom, StatusInProgress, "earlier", false, 5, "interrupted: boom"},
		{outcomeParked, errRefused, StatusPending, errRefused.Error(), false, 77,
			"registry unreachable: " + errRefused.Error() + "; waiting for it (job 77, next try at 2025-05-01T12:01:00Z)"},
		{outcomeFailed, errBoom, StatusFailed, "boom", true, 5, "failed: boom"},
	} {
		task := Task{ID: 5, JobID: 5, Status: StatusInProgress, Error: "earlier", Bytes: 100, StartTime: start, Log: []string{"begun"}}
		var job meta.Job
		if c.o == outcomeParked {
			job = next
		}
		settle(&task, c.o, res, c.err, 300, job, now)
		last := task.Log[len(task.Log)-1]
		if task.Status != c.wantStatus || task.Error != c.wantError || task.EndTime.IsZero() == c.wantEnd || task.JobID != c.wantJob ||
			task.Bytes != 400 || len(task.Log) != 2 || last != now.Format(time.RFC3339)+" "+c.wantLog || !task.StartTime.Equal(start) {
			t.Errorf("%v: %+v", c.o, task)
		}
		if wantArtifacts := c.o == outcomeSucceeded; (task.Artifacts == 2 && task.Skipped == 1) != wantArtifacts {
			t.Errorf("%v: artifacts %d, skipped %d", c.o, task.Artifacts, task.Skipped)
		}
	}
}

func TestExecutionOutcome(t *testing.T) {
	// countEnded moves an ended task's counts into its execution.
	exec := Execution{Planned: true, Total: 3, InProgress: 2, Succeeded: 1, Bytes: 10, Artifacts: 1}
	countEnded(&exec, Task{Status: StatusSucceeded, Bytes: 5, Artifacts: 2})
	if exec.InProgress != 1 || exec.Succeeded != 2 || exec.Bytes != 15 || exec.Artifacts != 3 || exec.Failed != 0 {
		t.Errorf("after a success: %+v", exec)
	}
	countEnded(&exec, Task{Status: StatusFailed, Bytes: 7, Artifacts: 9})
	if exec.InProgress != 0 || exec.Failed != 1 || exec.Bytes != 22 || exec.Artifacts != 3 {
		t.Errorf("after a failure: %+v", exec)
	}

	for _, c := range []struct {
		name       string
		exec       Execution
		done       bool
		status     Status
		statusText string
	}{
		{"not planned", Execution{InProgress: 0, Status: StatusInProgress}, false, "", ""},
		{"tasks active", Execution{Planned: true, InProgress: 1, Total: 2, Succeeded: 1, Status: StatusInProgress}, false, "", ""},
		{"ended already", Execution{Planned: true, Status: StatusStopped, Stopped: 1, Total: 1}, false, "", ""},
		{"all succeeded", Execution{Planned: true, Total: 2, Succeeded: 2, Status: StatusInProgress, StatusText: "x"}, true, StatusSucceeded, ""},
		{"nothing to do", Execution{Planned: true, Status: StatusInProgress}, true, StatusSucceeded, ""},
		{"one failed", Execution{Planned: true, Total: 3, Succeeded: 1, Failed: 1, Stopped: 1, Status: StatusInProgress}, true, StatusFailed, "1 of 3 tasks failed"},
		{"one stopped", Execution{Planned: true, Total: 2, Succeeded: 1, Stopped: 1, Status: StatusInProgress, StatusText: "kept"}, true, StatusStopped, "kept"},
	} {
		if got := done(c.exec); got != c.done {
			t.Errorf("%s: done = %v", c.name, got)
		}
		if !c.done {
			continue
		}
		if s, text := finalStatus(c.exec); s != c.status || text != c.statusText {
			t.Errorf("%s: finalStatus = %s %q, want %s %q", c.name, s, text, c.status, c.statusText)
		}
	}
}

func TestStale(t *testing.T) {
	for _, c := range []struct {
		task Task
		job  uint64
		want bool
	}{
		{Task{JobID: 5, Status: StatusPending}, 5, false},
		{Task{JobID: 5, Status: StatusInProgress}, 5, false},
		{Task{JobID: 6, Status: StatusPending}, 5, true}, // retried or parked: another job runs it
		{Task{JobID: 5, Status: StatusStopped}, 5, true},
		{Task{JobID: 5, Status: StatusSucceeded}, 5, true},
		{Task{JobID: 5, Status: StatusFailed}, 5, true},
	} {
		if got := stale(c.task, c.job); got != c.want {
			t.Errorf("stale(%+v, %d) = %v", c.task, c.job, got)
		}
	}
}

func TestPlanOutcome(t *testing.T) {
	for _, c := range []struct{ policy, engine, want int }{
		{0, 0, 10}, {3, 0, 3}, {0, 4, 4}, {3, 4, 3}, {-1, -1, 10}, {-1, 2, 2},
	} {
		if got := taskAttempts(c.policy, c.engine); got != c.want {
			t.Errorf("taskAttempts(%d, %d) = %d, want %d", c.policy, c.engine, got, c.want)
		}
	}

	enabled := PolicyRecord{Name: "p", Enabled: true}
	disabled := PolicyRecord{Name: "p"}
	for _, c := range []struct {
		name    string
		rec     PolicyRecord
		trigger TriggerType
		perr    error
		want    string // "" for none
	}{
		{"enabled, scheduled", enabled, TriggerScheduled, nil, ""},
		{"disabled, by hand", disabled, TriggerManual, nil, ""},
		{"disabled, scheduled", disabled, TriggerScheduled, nil, `replication: policy "p" is disabled`},
		{"disabled, on events", disabled, TriggerEvent, nil, `replication: policy "p" is disabled`},
		{"cannot resolve", enabled, TriggerManual, errNoPolicy, errNoPolicy.Error()},
	} {
		err := planRefusal(c.rec, c.trigger, c.perr)
		if got := fmt.Sprint(err); (c.want == "") != (err == nil) || err != nil && (got != c.want || !errors.Is(err, ErrPolicy)) {
			t.Errorf("%s: planRefusal = %v, want %q", c.name, err, c.want)
		}
	}

	for _, c := range []struct {
		permanent    bool
		attempt, max int
		shuttingDown bool
		want         bool
	}{
		{false, 1, 5, false, false},
		{false, 4, 5, false, false},
		{false, 5, 5, false, true},
		{false, 4, 0, false, false}, // at least 5 attempts
		{false, 5, 0, false, true},
		{false, 6, 8, false, false},
		{false, 8, 8, false, true},
		{true, 1, 5, false, true},
		{false, 1, 5, true, true},
	} {
		if got := planGivesUp(c.permanent, c.attempt, c.max, c.shuttingDown); got != c.want {
			t.Errorf("planGivesUp(%+v) = %v", c, got)
		}
	}
}

// TestTaskRefOf: a task's first job runs the task of its own id, later
// ones (retries, parked) the task their payload names.
func TestTaskRefOf(t *testing.T) {
	for _, c := range []struct {
		payload string
		want    taskRef
	}{
		{`{"execution":7}`, taskRef{execution: 7, id: 9}},
		{`{"execution":7,"task":8}`, taskRef{execution: 7, id: 8}},
	} {
		if got, err := taskRefOf(meta.Job{ID: 9, Payload: []byte(c.payload)}); err != nil || got != c.want {
			t.Errorf("%s: %+v %v", c.payload, got, err)
		}
	}
	if _, err := taskRefOf(meta.Job{ID: 9, Payload: []byte(`[`)}); err == nil || !strings.Contains(err.Error(), "job 9") {
		t.Errorf("a bad payload: %v", err)
	}
}
