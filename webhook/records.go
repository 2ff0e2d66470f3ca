package webhook

import (
	"errors"
	"strings"
	"time"

	"github.com/berthreg/berth/meta"
)

// The webhook record kinds (the bucket names of earlier builds).
var (
	// PolicyRecords holds the policies, keyed by Policy.Key.
	PolicyRecords = meta.RecordType[Policy]{Kind: "webhookPolicies", Key: Policy.Key}
	// DeliveryRecords is the delivery log, keyed by DeliveryID of the
	// delivery's job.
	DeliveryRecords = meta.RecordType[Delivery]{Kind: "deliveries", Key: func(d Delivery) string { return d.ID }}
)

// Policy says which events are sent where.
type Policy struct {
	// ID identifies the policy for good: the event log's sequence number
	// of the event that recorded its creation, so that no later policy
	// (of any name or project) gets it again. Delivery jobs and the
	// delivery log carry it. Zero for policies from before ids.
	ID uint64 `json:"id,omitempty"`
	// Name identifies the policy within its project (system policies,
	// Project "", have a scope of their own).
	Name string `json:"name"`
	// Description says what it is for.
	Description string `json:"description,omitempty"`
	// Project confines it to one project's events ("" for every project:
	// a system policy).
	Project string `json:"project,omitempty"`
	// ProjectID is the ID of the project when the policy was created: a
	// policy of an earlier project of the same name (deleted since) is
	// not the current project's. Zero for policies from before ids.
	ProjectID uint64 `json:"projectId,omitempty"`
	// Repositories, when set, is a doublestar pattern the event's
	// repository must match ("team/app-*").
	Repositories string `json:"repositories,omitempty"`
	// EventTypes are the event types sent (PUSH_ARTIFACT, …).
	EventTypes []string `json:"eventTypes"`
	// Targets receive the events.
	Targets []Target `json:"targets"`
	// Enabled policies send; disabled ones are kept.
	Enabled bool `json:"enabled"`
	// CreatedBy names the account that created it.
	CreatedBy string `json:"createdBy,omitempty"`
	// CreatedAt and UpdatedAt bound the record's life.
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Target is one receiver of a policy's events.
type Target struct {
	// Type is "http" or "slack".
	Type string `json:"type"`
	// Address is the receiver's URL.
	Address string `json:"address"`
	// Format is the body of an http target: "default" (Harbor's JSON) or
	// "cloudevents" (CloudEvents 1.0, structured mode).
	Format string `json:"format,omitempty"`
	// AuthHeader, when set, is sent as the Authorization header.
	AuthHeader string `json:"authHeader,omitempty"`
	// Secret, when set, signs each delivery (Standard Webhooks headers,
	// HMAC-SHA256); "whsec_<base64>" or raw text.
	Secret string `json:"secret,omitempty"`
	// SkipCertVerify accepts any TLS certificate.
	SkipCertVerify bool `json:"skipCertVerify,omitempty"`
	// Timeout bounds one attempt (0: 10 s).
	Timeout time.Duration `json:"timeout,omitempty"`
}

// Delivery is the log of one event's delivery to one target.
type Delivery struct {
	// ID names the delivery: its job's id, zero-padded to sort.
	ID string `json:"id"`
	// JobID is the delivery job.
	JobID uint64 `json:"jobId"`
	// Policy, Project, PolicyID (zero for deliveries from before policy
	// ids), Target (index in the policy's targets) and Address say where
	// it goes.
	Policy   string `json:"policy"`
	Project  string `json:"project,omitempty"`
	PolicyID uint64 `json:"policyId,omitempty"`
	Target   int    `json:"target"`
	Address  string `json:"address"`
	// EventSeq and EventType say what it carries.
	EventSeq  uint64 `json:"eventSeq"`
	EventType string `json:"eventType"`
	// Attempts are the attempts so far, oldest first.
	Attempts []DeliveryAttempt `json:"attempts,omitempty"`
	// CreatedAt is when the event was dispatched.
	CreatedAt time.Time `json:"createdAt"`
}

// DeliveryAttempt is one try at a delivery.
type DeliveryAttempt struct {
	// At is when it started; Duration how long it took.
	At       time.Time     `json:"at"`
	Duration time.Duration `json:"duration"`
	// Status is the receiver's HTTP status (0: no answer).
	Status int `json:"status"`
	// Error says what went wrong, if anything.
	Error string `json:"error,omitempty"`
}

// Key is the policy's key in PolicyRecords: PolicyKey of its
// project and name.
func (p Policy) Key() string { return PolicyKey(p.Project, p.Name) }

// PolicyKey is the key of policy name of project: the name for a
// system policy (project ""), else "<project>/<name>" (policy names have
// no '/'), so that a project's policies sort together.
func PolicyKey(project, name string) string {
	if project == "" {
		return name
	}
	return project + "/" + name
}

// Of reports whether delivery d belongs to policy p: the same project,
// name and id (deliveries and policies from before ids have id zero).
func (d Delivery) Of(p Policy) bool {
	return d.Project == p.Project && d.Policy == p.Name && d.PolicyID == p.ID
}

// deletePolicy deletes policy p with its delivery log and its delivery
// jobs in tx: pending and finished jobs are deleted, a running one is
// canceled at now (its worker then records nothing).
func deletePolicy(tx meta.Tx, p Policy, now time.Time) error {
	if err := PolicyRecords.In(tx).Delete(p.Key()); err != nil {
		return err
	}
	const batch = 500
	after := ""
	for {
		list, err := DeliveryRecords.In(tx).List(after, batch)
		if err != nil {
			return err
		}
		for _, d := range list {
			if !d.Of(p) {
				continue
			}
			if err := DeliveryRecords.In(tx).Delete(d.ID); err != nil {
				return err
			}
			if err := dropJob(tx, d.JobID, now); err != nil {
				return err
			}
		}
		if len(list) < batch {
			return nil
		}
		after = list[len(list)-1].ID
	}
}

// dropJob deletes job id, or cancels it while it runs.
func dropJob(tx meta.Tx, id uint64, now time.Time) error {
	j, err := tx.Jobs().Get(id)
	switch {
	case errors.Is(err, meta.ErrNotFound):
		return nil
	case err != nil:
		return err
	case j.State == meta.JobRunning:
		j.State, j.FinishedAt, j.Worker, j.LeaseUntil = meta.JobCanceled, now, "", time.Time{}
		j.UpdatedAt = now
		return tx.Jobs().Put(j)
	}
	return tx.Jobs().Delete(id)
}

// DeleteProjectPolicies deletes the policies of project (and any an
// earlier project of the name left) with their delivery logs and delivery
// jobs, in tx, at now: the cleanup the accounts Manager runs when it
// deletes a project (accounts.WithProjectCleanup).
func DeleteProjectPolicies(tx meta.Tx, project string, now time.Time) error {
	prefix := PolicyKey(project, "")
	policies, err := PolicyRecords.In(tx).List(prefix, 0)
	if err != nil {
		return err
	}
	for _, p := range policies {
		if !strings.HasPrefix(p.Key(), prefix) {
			break
		}
		if err := deletePolicy(tx, p, now); err != nil {
			return err
		}
	}
	return nil
}
