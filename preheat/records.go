package preheat

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/scan"
)

// The preheat record kinds. Keys are fixed-width decimal ids (IDKey), so
// that they sort by id.
var (
	// Instances holds the provider instances, keyed by IDKey of their id.
	Instances = meta.RecordType[Instance]{Kind: "preheatInstances", Key: func(i Instance) string { return idKeyOrEmpty(i.ID) }}
	// Policies holds the policies, keyed by PolicyKey: a project's
	// policies are the keys after "<project>/".
	Policies = meta.RecordType[Policy]{Kind: "preheatPolicies", Key: Policy.Key}
	// Executions holds the executions, keyed by ExecutionKey: a policy's
	// executions are the keys after IDKey(policy)+"/", oldest first.
	Executions = meta.RecordType[Execution]{Kind: "preheatExecutions", Key: Execution.Key}
	// Tasks holds the tasks, keyed by TaskKey: an execution's tasks are
	// the keys after IDKey(execution)+"/".
	Tasks = meta.RecordType[Task]{Kind: "preheatTasks", Key: Task.Key}
)

// The record kinds that are not exported tables.
const (
	// kindLogs holds the task logs, keyed like the tasks (TaskKey).
	kindLogs = "preheatTaskLogs"
	// kindDone holds, for the dedupe of non-manual runs, the digests each
	// policy preheated into each instance: doneKey.
	kindDone = "preheatDone"
	// kindSeq holds the last ids given, in decimal, under seqInstance and
	// seqPolicy.
	kindSeq     = "preheatSeq"
	seqInstance = "instance"
	seqPolicy   = "policy"
)

// IDKey is the key of an id in the record kinds: fixed width, so that
// keys sort by id.
func IDKey[T int64 | uint64](id T) string { return fmt.Sprintf("%020d", id) }

// idKeyOrEmpty is IDKey, or "" for id 0, which no record has.
func idKeyOrEmpty(id int64) string {
	if id <= 0 {
		return ""
	}
	return IDKey(id)
}

// nextID allocates an id of sequence name in tx: one more than the last
// given, so no id is given twice, even after a deletion.
func nextID(tx meta.Tx, name string) (int64, error) {
	r := tx.Records(kindSeq)
	var last int64
	raw, err := r.Get(name)
	switch {
	case errors.Is(err, meta.ErrNotFound):
	case err != nil:
		return 0, err
	default:
		if last, err = strconv.ParseInt(string(raw), 10, 64); err != nil {
			return 0, fmt.Errorf("preheat: the last %s id %q: %w", name, raw, err)
		}
	}
	last++
	return last, r.Put(name, []byte(strconv.FormatInt(last, 10)))
}

// Instance is a P2P provider instance: one Dragonfly or Kraken cluster
// that policies preheat into. Harbor's preheat instance.
type Instance struct {
	// ID identifies the instance for good (never given to another).
	ID int64 `json:"id"`
	// Name is unique among the instances.
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Vendor names the provider (a WithProvider vendor: "dragonfly",
	// "kraken").
	Vendor string `json:"vendor"`
	// Endpoint is the instance's base URL (http or https); unique among
	// the instances.
	Endpoint string `json:"endpoint"`
	// AuthMode is AuthNone, AuthBasic or AuthOAuth.
	AuthMode string `json:"auth_mode"`
	// AuthInfo holds the credentials: "username" and "password" for
	// AuthBasic, "token" for AuthOAuth. The secrets ("password",
	// "token") are write-only: what the Service returns never carries
	// them, and an update that leaves one out keeps the stored one.
	AuthInfo map[string]string `json:"auth_info,omitempty"`
	// Status is what the last health check found: Healthy,
	// Unhealthy, or HealthUnknown before any.
	Status string `json:"status"`
	// Enabled instances are preheated into; a disabled one is kept.
	Enabled bool `json:"enabled"`
	// Default marks the instance offered first: at most one is.
	Default bool `json:"default"`
	// Insecure skips the verification of the instance's TLS certificate
	// (its address is still guarded, see WithOutboundGuard).
	Insecure bool `json:"insecure"`
	// SetupTimestamp is when the instance was created, in Unix seconds.
	SetupTimestamp int64 `json:"setup_timestamp"`
}

// The health statuses of an instance, Harbor's.
const (
	HealthUnknown = "Unknown"
	Healthy       = "Healthy"
	Unhealthy     = "Unhealthy"
)

// TriggerType names what starts a policy's executions.
type TriggerType string

// The policy trigger types, Harbor's.
const (
	// TriggerManual policies run when Start is called.
	TriggerManual TriggerType = "manual"
	// TriggerScheduled policies run on their cron schedule too.
	TriggerScheduled TriggerType = "scheduled"
	// TriggerEventBased policies run when an artifact they select is
	// pushed, and when one is scanned if they filter on vulnerabilities.
	TriggerEventBased TriggerType = "event_based"
)

// Trigger says when a policy runs, in Harbor's shape.
type Trigger struct {
	// Type is TriggerManual, TriggerScheduled or TriggerEventBased.
	Type TriggerType `json:"type"`
	// Settings holds a scheduled trigger's cron.
	Settings TriggerSettings `json:"trigger_setting,omitzero"`
}

// TriggerSettings are a trigger's settings.
type TriggerSettings struct {
	// Cron is a scheduled trigger's schedule: six fields, seconds first,
	// or a descriptor ("@every 1h"), as the job runner reads them.
	Cron string `json:"cron,omitempty"`
}

// Filters select what a policy preheats: every artifact of the project
// that passes all of them (Harbor's filter types).
type Filters struct {
	// Repository is a doublestar pattern over the repository's name
	// inside the project ("app", "team/**"; "" matches every one).
	Repository string `json:"repository,omitempty"`
	// Tag is a doublestar pattern over the tags ("v*"; "" matches every
	// one).
	Tag string `json:"tag,omitempty"`
	// Labels are the names of labels the artifact must all carry.
	Labels []string `json:"label,omitempty"`
	// Signature keeps only signed artifacts (Artifacts.Signed).
	Signature bool `json:"signature,omitempty"`
	// Vulnerability, when set, keeps only artifacts whose latest scan
	// found nothing of this severity or above; artifacts not scanned (or
	// whose scan failed) are left out too.
	Vulnerability scan.Severity `json:"vulnerability,omitempty"`
}

// Policy says what of a project is preheated into which instance, and
// when. Harbor's preheat policy.
type Policy struct {
	// ID identifies the policy for good (never given to another).
	ID int64 `json:"id"`
	// Name is unique within the project; it cannot be changed.
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Project is the project's name; ProjectID its id when the policy
	// was created (a policy of an earlier project of the name is not the
	// current project's).
	Project   string `json:"project"`
	ProjectID uint64 `json:"project_id,omitempty"`
	// ProviderID is the id of the instance preheated into.
	ProviderID int64 `json:"provider_id"`
	// ProviderName is the instance's name, filled in by reads (not
	// stored).
	ProviderName string `json:"-"`
	// Filters select the artifacts.
	Filters Filters `json:"filters"`
	// Trigger says when it runs.
	Trigger Trigger `json:"trigger"`
	// Scope is ScopeSinglePeer ("" is the same) or ScopeAllPeers.
	Scope string `json:"scope,omitempty"`
	// Enabled policies run; disabled ones are kept.
	Enabled bool `json:"enabled"`
	// CreatedBy names the account that created it.
	CreatedBy string    `json:"created_by,omitempty"`
	CreatedAt time.Time `json:"creation_time"`
	UpdatedAt time.Time `json:"update_time"`
}

// Key is the policy's key in Policies: PolicyKey of its project and name.
func (p Policy) Key() string {
	if p.Project == "" || p.Name == "" {
		return ""
	}
	return PolicyKey(p.Project, p.Name)
}

// PolicyKey is the key of policy name of project: "<project>/<name>"
// (neither holds a '/').
func PolicyKey(project, name string) string { return project + "/" + name }

// ExecTrigger says what started an execution (Harbor's names).
type ExecTrigger string

// The execution triggers.
const (
	ExecManual   ExecTrigger = "MANUAL"
	ExecSchedule ExecTrigger = "SCHEDULE"
	ExecEvent    ExecTrigger = "EVENT"
)

// RunStatus is where an execution or a task stands (Harbor's task
// statuses).
type RunStatus string

// The statuses: Pending and Running are active, the others final.
const (
	RunPending RunStatus = "Pending"
	RunRunning RunStatus = "Running"
	RunSuccess RunStatus = "Success"
	RunError   RunStatus = "Error"
	RunStopped RunStatus = "Stopped"
)

// Final reports a status that does not change any more.
func (s RunStatus) Final() bool { return s == RunSuccess || s == RunError || s == RunStopped }

// Metrics count an execution's tasks by status (Harbor's execution
// metrics).
type Metrics struct {
	Total   int `json:"task_count"`
	Pending int `json:"pending_task_count"`
	Running int `json:"running_task_count"`
	Success int `json:"success_task_count"`
	Error   int `json:"error_task_count"`
	Stopped int `json:"stopped_task_count"`
}

// add adds n tasks of status s.
func (m *Metrics) add(s RunStatus, n int) {
	switch s {
	case RunPending:
		m.Pending += n
	case RunRunning:
		m.Running += n
	case RunSuccess:
		m.Success += n
	case RunError:
		m.Error += n
	case RunStopped:
		m.Stopped += n
	}
}

// move counts a task that went from status from to status to.
func (m *Metrics) move(from, to RunStatus) {
	m.add(from, -1)
	m.add(to, 1)
}

// Execution is one run of a policy.
type Execution struct {
	// ID is the execution's number (the id of the job that planned it).
	ID uint64 `json:"id"`
	// PolicyID, Policy and Project name the policy (Harbor's vendor_id).
	PolicyID int64  `json:"vendor_id"`
	Policy   string `json:"policy"`
	Project  string `json:"project"`
	// InstanceID is the instance its tasks preheat into (0 until planned).
	InstanceID int64 `json:"instance_id,omitempty"`
	// Trigger says what started it; Operator who, for a manual one.
	Trigger  ExecTrigger `json:"trigger"`
	Operator string      `json:"operator,omitempty"`
	// Status follows its tasks; StatusMessage says why it ended so.
	Status        RunStatus `json:"status"`
	StatusMessage string    `json:"status_message,omitempty"`
	// Planned is set once its tasks are created.
	Planned bool `json:"planned,omitempty"`
	// Metrics count its tasks.
	Metrics Metrics `json:"metrics"`
	// StartTime and EndTime bound it.
	StartTime time.Time `json:"start_time"`
	EndTime   time.Time `json:"end_time,omitzero"`
}

// Key is the execution's key: ExecutionKey of its policy and id ("" for
// id 0).
func (e Execution) Key() string {
	if e.ID == 0 || e.PolicyID <= 0 {
		return ""
	}
	return ExecutionKey(e.PolicyID, e.ID)
}

// ExecutionKey is the key of execution id of policy.
func ExecutionKey(policy int64, id uint64) string { return IDKey(policy) + "/" + IDKey(id) }

// Task is the preheat of one artifact in an execution.
type Task struct {
	// ID is the task's number (the id of its first job); Execution the
	// execution's; JobID the job that runs it next (each poll of the
	// provider is a job of its own).
	ID        uint64 `json:"id"`
	Execution uint64 `json:"execution_id"`
	JobID     uint64 `json:"job_id"`
	// Repository, Tag and Digest name the artifact.
	Repository string `json:"repository"`
	Tag        string `json:"tag"`
	Digest     string `json:"digest"`
	// MediaType is the manifest's media type.
	MediaType string `json:"media_type,omitempty"`
	// ProviderJobID is the provider's id of its preheat job, once asked.
	ProviderJobID string `json:"provider_job_id,omitempty"`
	// Requested is set once the provider accepted the preheat.
	Requested bool `json:"requested,omitempty"`
	// Status is the task's; Message says why it failed or stopped.
	Status  RunStatus `json:"status"`
	Message string    `json:"status_message,omitempty"`
	// Polls counts the provider's status reads.
	Polls int `json:"polls,omitempty"`
	// CreatedAt is when it was planned; StartTime and EndTime bound its
	// run.
	CreatedAt time.Time `json:"creation_time"`
	StartTime time.Time `json:"start_time,omitzero"`
	EndTime   time.Time `json:"end_time,omitzero"`
}

// Key is the task's key: TaskKey of its execution and id ("" when either
// is 0).
func (t Task) Key() string {
	if t.Execution == 0 || t.ID == 0 {
		return ""
	}
	return TaskKey(t.Execution, t.ID)
}

// TaskKey is the key of task id of execution.
func TaskKey(execution, id uint64) string { return IDKey(execution) + "/" + IDKey(id) }

// doneKey is the dedupe record of digest preheated by policy into
// instance.
func doneKey(policy, instance int64, digest string) string {
	return IDKey(policy) + "/" + IDKey(instance) + "/" + digest
}
