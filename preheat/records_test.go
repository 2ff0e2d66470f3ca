package preheat_test

import (
	"strings"
	"testing"

	"github.com/berthreg/berth/internal/teststores"
	"github.com/berthreg/berth/meta/metatest"
	"github.com/berthreg/berth/preheat"
)

// TestRecordTypes round-trips every field of the preheat records through
// the store, with the record-type checks of metatest.
func TestRecordTypes(t *testing.T) {
	s := teststores.Open(t)
	metatest.RecordType(t, s, preheat.Instances, preheat.Instance{ID: 7, Name: "df", Description: "d", Vendor: "dragonfly",
		Endpoint: "https://df.example", AuthMode: preheat.AuthBasic, AuthInfo: map[string]string{"username": "u", "password": "p"},
		Status: preheat.Healthy, Enabled: true, Default: true, Insecure: true, SetupTimestamp: 1700000000},
		func(v preheat.Instance, i int) preheat.Instance {
			v.AuthInfo = nil
			v.ID += int64(i)
			return v
		})
	metatest.RecordType(t, s, preheat.Policies, preheat.Policy{ID: 3, Name: "warm", Description: "d", Project: "team", ProjectID: 9,
		ProviderID: 7, Filters: preheat.Filters{Repository: "app*", Tag: "v*", Labels: []string{"prod"}, Signature: true, Vulnerability: "High"},
		Trigger: preheat.Trigger{Type: preheat.TriggerScheduled, Settings: preheat.TriggerSettings{Cron: "0 0 3 * * *"}},
		Scope:   preheat.ScopeAllPeers, Enabled: true, CreatedBy: "alice", CreatedAt: metatest.At(1), UpdatedAt: metatest.At(2)},
		func(v preheat.Policy, i int) preheat.Policy {
			v.Filters.Labels = nil
			if i > 0 {
				v.Name = "warm-" + strings.Repeat("x", i)
			}
			return v
		})
	metatest.RecordType(t, s, preheat.Executions, preheat.Execution{ID: 42, PolicyID: 3, Policy: "warm", Project: "team", InstanceID: 7,
		Trigger: preheat.ExecEvent, Operator: "alice", Status: preheat.RunError, StatusMessage: "1 of 5 tasks failed", Planned: true,
		Metrics: preheat.Metrics{Total: 5, Pending: 1, Running: 1, Success: 1, Error: 1, Stopped: 1}, StartTime: metatest.At(3), EndTime: metatest.At(4)},
		func(v preheat.Execution, i int) preheat.Execution {
			v.Status = preheat.RunSuccess
			v.ID += uint64(i)
			return v
		})
	metatest.RecordType(t, s, preheat.Tasks, preheat.Task{ID: 43, Execution: 42, JobID: 44, Repository: "team/app", Tag: "v1",
		Digest: "sha256:" + strings.Repeat("a", 64), ProviderJobID: "job-1", Requested: true, Status: preheat.RunSuccess, Message: "m",
		Polls: 3, CreatedAt: metatest.At(5), StartTime: metatest.At(6), EndTime: metatest.At(7)},
		func(v preheat.Task, i int) preheat.Task {
			v.Message = ""
			v.ID += uint64(i)
			return v
		})
}

// TestKeysSortByID: the fixed-width keys keep a policy's executions and
// an execution's tasks in one range, in id order, apart from those of
// ids sharing digits.
func TestKeysSortByID(t *testing.T) {
	if !(preheat.ExecutionKey(4, 9) < preheat.ExecutionKey(4, 10) && preheat.ExecutionKey(4, 1<<40) < preheat.ExecutionKey(40, 1)) {
		t.Fatal("execution keys do not sort by policy, then id")
	}
	if !(preheat.TaskKey(42, 7) < preheat.TaskKey(42, 43) && !strings.HasPrefix(preheat.TaskKey(420, 1), preheat.IDKey(uint64(42))+"/")) {
		t.Fatal("task keys do not keep an execution's tasks apart")
	}
}
