package replication_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/berthreg/berth/internal/teststores"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/metatest"
	"github.com/berthreg/berth/replication"
)

// TestRecordTypes round-trips every field of the replication records
// through the bbolt backend, with the record-type checks of metatest.
func TestRecordTypes(t *testing.T) {
	s := teststores.Open(t)
	metatest.RecordType(t, s, replication.Registries, replication.Registry{Name: "dc2", Type: "berth", Description: "second site",
		URL: "https://dc2.example:5000", Username: "robot$replicator", Password: "secret", Insecure: true,
		CACert: "-----BEGIN CERTIFICATE-----", CreatedAt: metatest.At(12), UpdatedAt: metatest.At(13)},
		func(v replication.Registry, i int) replication.Registry {
			v.Password = ""
			if i > 0 {
				v.Name = fmt.Sprintf("dc-%02d", i)
			}
			return v
		})
	metatest.RecordType(t, s, replication.Policies, replication.PolicyRecord{Name: "to-dc2", Description: "d", Destination: "dc2",
		Repositories: []string{"team/**"}, ExcludeRepositories: []string{"team/tmp-*"}, Tags: []string{"v*"}, ExcludeTags: []string{"*-rc*"},
		Labels: []string{"tier=prod"}, ArtifactTypes: []string{"application/vnd.oci.image.*"}, Namespace: "mirror", Flatten: -1,
		Override: true, ReplicateDeletion: true, Trigger: replication.TriggerScheduled, Cron: "0 0 * * * *", Speed: 1024,
		TaskAttempts: 3, BlobRetries: 2, Enabled: true, CreatedBy: "alice", CreatedAt: metatest.At(14), UpdatedAt: metatest.At(15)},
		func(v replication.PolicyRecord, i int) replication.PolicyRecord {
			v.Labels = nil
			if i > 0 {
				v.Name = fmt.Sprintf("policy-%02d", i)
			}
			return v
		})
	execution := replication.Execution{ID: 42, Policy: "to-dc2", Trigger: replication.TriggerEvent, Status: replication.StatusFailed,
		StatusText: "1 task failed", Planned: true, Total: 5, Succeeded: 1, Failed: 1, InProgress: 2, Stopped: 1, Bytes: 1 << 20,
		Artifacts: 3, StartTime: metatest.At(16), EndTime: metatest.At(17)}
	metatest.RecordType(t, s, replication.Executions, execution, func(v replication.Execution, i int) replication.Execution {
		v.Status = replication.StatusSucceeded
		v.ID += uint64(i)
		return v
	})
	task := replication.Task{ID: 43, Execution: 42, JobID: 44, Operation: "copy", Repository: "team/app", Tag: "v1",
		Digest: "sha256:" + strings.Repeat("a", 64), Destination: "mirror/app", Status: replication.StatusSucceeded, Error: "503",
		Attempts: 2, Bytes: 1 << 20, Artifacts: 2, Skipped: 1, Log: []string{"copying", "done"}, StartTime: metatest.At(18), EndTime: metatest.At(19)}
	metatest.RecordType(t, s, replication.Tasks, task, func(v replication.Task, i int) replication.Task {
		v.Log = nil
		v.ID += uint64(i)
		return v
	})
}

// TestExecutionTasksAreOneRange: an execution's tasks are listed in id
// order, and neither execution 7's nor execution 420's (whose key shares
// the digits) are among those of execution 42.
func TestExecutionTasksAreOneRange(t *testing.T) {
	s := teststores.Open(t)
	if err := s.Update(t.Context(), func(tx meta.Tx) error {
		for _, k := range [][2]uint64{{42, 43}, {42, 100}, {42, 9}, {7, 8}, {420, 421}} {
			if err := replication.Tasks.In(tx).Put(replication.Task{Execution: k[0], ID: k[1], Status: replication.StatusPending}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.View(t.Context(), func(tx meta.Tx) error {
		tasks, err := replication.ExecutionTasks(tx, 42, 0, 0)
		if err != nil {
			return err
		}
		var ids []uint64
		for _, v := range tasks {
			ids = append(ids, v.ID)
		}
		if fmt.Sprint(ids) != "[9 43 100]" {
			t.Errorf("tasks of execution 42 = %v, want [9 43 100]", ids)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
