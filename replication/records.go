package replication

import (
	"fmt"
	"time"

	"github.com/berthreg/berth/meta"
)

// The replication record kinds (the bucket names of earlier builds).
var (
	// Registries holds the registry endpoints, keyed by name.
	Registries = meta.RecordType[Registry]{Kind: "registryEndpoints", Key: func(r Registry) string { return r.Name }}
	// Policies holds the replication policies, keyed by name.
	Policies = meta.RecordType[PolicyRecord]{Kind: "replicationPolicies", Key: func(p PolicyRecord) string { return p.Name }}
	// Executions holds the executions, keyed by ExecutionKey.
	Executions = meta.RecordType[Execution]{Kind: "replicationExecutions", Key: Execution.Key}
	// Tasks holds the tasks, keyed by TaskKey: an execution's tasks are
	// the keys after ExecutionKey(id)+"/".
	Tasks = meta.RecordType[Task]{Kind: "replicationTasks", Key: Task.Key}
)

// Registry is a remote registry that replication policies copy to
// or from.
type Registry struct {
	// Name identifies the endpoint.
	Name string `json:"name"`
	// ID is a number naming it too, as Harbor's API does (its
	// registry_id): given at creation, never reused while it exists.
	ID int64 `json:"id,omitempty"`
	// Type says what kind of registry it is ("berth", "distribution",
	// "harbor", "docker-hub", …): informational, every type speaks the
	// OCI distribution API.
	Type string `json:"type,omitempty"`
	// Description says what it is for.
	Description string `json:"description,omitempty"`
	// URL is its base address ("https://registry.example:5000").
	URL string `json:"url"`
	// Username and Password are its credentials (empty: anonymous).
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	// HasPassword, in what the Service returns (which never carries the
	// password: it is write-only), says the endpoint has one. It is not
	// stored.
	HasPassword bool `json:"-"`
	// Insecure accepts any TLS certificate.
	Insecure bool `json:"insecure,omitempty"`
	// CACert, when set, is a PEM bundle its certificate must chain to.
	CACert string `json:"caCert,omitempty"`
	// CreatedAt and UpdatedAt bound the record's life.
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// TriggerType names what starts a policy's executions.
type TriggerType string

// The trigger types, with Harbor's names.
const (
	TriggerManual    TriggerType = "manual"
	TriggerScheduled TriggerType = "scheduled"
	TriggerEvent     TriggerType = "event_based"
)

// PolicyRecord says what is copied from where to where, and when.
// Exactly one of Source and Destination names a Registry; the
// other is empty for this registry (push mode: Source empty; pull mode:
// Destination empty).
type PolicyRecord struct {
	// Name identifies the policy.
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Source and Destination are endpoint names ("" for this registry).
	Source      string `json:"source,omitempty"`
	Destination string `json:"destination,omitempty"`
	// Repositories and ExcludeRepositories are doublestar patterns over
	// source repository names; Tags and ExcludeTags over tags. Empty
	// includes match everything; an exclude wins.
	Repositories        []string `json:"repositories,omitempty"`
	ExcludeRepositories []string `json:"excludeRepositories,omitempty"`
	Tags                []string `json:"tags,omitempty"`
	ExcludeTags         []string `json:"excludeTags,omitempty"`
	// Labels selects artifacts carrying every one of these labels
	// ("key" or "key=value"), looked up in the manifest's annotations and
	// the image configuration's labels, or (from this registry) the names
	// of the labels attached to the artifact (see WithAttachedLabels).
	Labels []string `json:"labels,omitempty"`
	// ArtifactTypes, when set, are doublestar patterns one of which the
	// artifact's type must match (its artifactType, else its config media
	// type, else an index's media type).
	ArtifactTypes []string `json:"artifactTypes,omitempty"`
	// Namespace and Flatten map source repositories to destination names:
	// Flatten leading components are dropped (-1: all but the last) and
	// Namespace, when set, is put in front.
	Namespace string `json:"namespace,omitempty"`
	Flatten   int    `json:"flatten,omitempty"`
	// Override replaces destination tags pointing at other content.
	Override bool `json:"override,omitempty"`
	// ReplicateDeletion deletes on the destination what is deleted at the
	// source (event-based triggers, which see deletions).
	ReplicateDeletion bool `json:"replicateDeletion,omitempty"`
	// Trigger starts executions; Cron is a scheduled trigger's schedule
	// (with seconds).
	Trigger TriggerType `json:"trigger"`
	Cron    string      `json:"cron,omitempty"`
	// Speed limits the bandwidth of each execution's transfers, in KiB/s
	// (0: none).
	Speed int `json:"speed,omitempty"`
	// TaskAttempts bounds the attempts of each task (0: the engine's
	// default); BlobRetries the retries of each blob and manifest request
	// within an attempt (0: the engine's default).
	TaskAttempts int `json:"taskAttempts,omitempty"`
	BlobRetries  int `json:"blobRetries,omitempty"`
	// Enabled policies run; disabled ones are kept.
	Enabled bool `json:"enabled"`
	// CreatedBy names the account that created it.
	CreatedBy string    `json:"createdBy,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Status is where an execution or a task is.
type Status string

// The statuses, with Harbor's names. Pending and in-progress ones are
// active; the others are final (an execution's until failed tasks are
// retried).
const (
	StatusPending    Status = "Pending"
	StatusInProgress Status = "InProgress"
	StatusSucceeded  Status = "Succeed"
	StatusFailed     Status = "Failed"
	StatusStopped    Status = "Stopped"
)

// Final reports a status that will not change by itself.
func (s Status) Final() bool {
	return s == StatusSucceeded || s == StatusFailed || s == StatusStopped
}

// Execution is one run of a policy.
type Execution struct {
	// ID is the execution's number (the id of the job that plans it).
	ID uint64 `json:"id"`
	// Policy names the policy; Trigger says what started it.
	Policy  string      `json:"policy"`
	Trigger TriggerType `json:"trigger"`
	// Status is the execution's; StatusText says why it failed.
	Status     Status `json:"status"`
	StatusText string `json:"statusText,omitempty"`
	// Planned is set once its tasks are created.
	Planned bool `json:"planned,omitempty"`
	// Total counts its tasks; the others count them by status.
	Total      int `json:"total"`
	Succeeded  int `json:"succeeded"`
	Failed     int `json:"failed"`
	InProgress int `json:"inProgress"`
	Stopped    int `json:"stopped"`
	// Bytes is what finished tasks transferred; Artifacts the manifests
	// they wrote.
	Bytes     int64 `json:"bytes"`
	Artifacts int   `json:"artifacts"`
	// StartTime and EndTime bound it.
	StartTime time.Time `json:"startTime"`
	EndTime   time.Time `json:"endTime,omitzero"`
}

// Key is the record's key: ExecutionKey of its id ("" for id 0, which no
// execution has: ids are job ids).
func (e Execution) Key() string {
	if e.ID == 0 {
		return ""
	}
	return ExecutionKey(e.ID)
}

// ExecutionKey is the table key of execution id.
func ExecutionKey(id uint64) string { return fmt.Sprintf("%020d", id) }

// Task is the copy or the deletion of one artifact.
type Task struct {
	// ID is the task's number (the id of its first job); Execution the
	// execution's; JobID the job running it now.
	ID        uint64 `json:"id"`
	Execution uint64 `json:"execution"`
	JobID     uint64 `json:"jobId"`
	// Operation is "copy" or "deletion".
	Operation string `json:"operation"`
	// Repository and Tag (or Digest, for untagged artifacts and
	// deletions by digest) name the source artifact; Destination the
	// destination repository.
	Repository  string `json:"repository"`
	Tag         string `json:"tag,omitempty"`
	Digest      string `json:"digest,omitempty"`
	Destination string `json:"destination"`
	// Status is the task's; Error the last failure.
	Status Status `json:"status"`
	Error  string `json:"error,omitempty"`
	// Attempts counts the attempts started.
	Attempts int `json:"attempts"`
	// Bytes is what it transferred; Artifacts the manifests it wrote and
	// Skipped those the destination had.
	Bytes     int64 `json:"bytes"`
	Artifacts int   `json:"artifacts"`
	Skipped   int   `json:"skipped"`
	// Log holds its log lines, oldest first (the last ones when long).
	Log []string `json:"log,omitempty"`
	// StartTime and EndTime bound it.
	StartTime time.Time `json:"startTime,omitzero"`
	EndTime   time.Time `json:"endTime,omitzero"`
}

// Key is the task's key in its table: execution and task, zero-padded,
// so an execution's tasks are one range ("" when either is 0, which no
// task has: ids are job ids).
func (t Task) Key() string {
	if t.Execution == 0 || t.ID == 0 {
		return ""
	}
	return TaskKey(t.Execution, t.ID)
}

// TaskKey is the table key of a task.
func TaskKey(execution, id uint64) string { return ExecutionKey(execution) + "/" + ExecutionKey(id) }
