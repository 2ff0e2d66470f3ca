package meta

import (
	"errors"
	"time"
)

// WebhookPolicy says which events are sent where.
type WebhookPolicy struct {
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
	Targets []WebhookTarget `json:"targets"`
	// Enabled policies send; disabled ones are kept.
	Enabled bool `json:"enabled"`
	// CreatedBy names the account that created it.
	CreatedBy string `json:"createdBy,omitempty"`
	// CreatedAt and UpdatedAt bound the record's life.
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// WebhookTarget is one receiver of a policy's events.
type WebhookTarget struct {
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

// Key is the policy's key in Tx.WebhookPolicies: WebhookPolicyKey of its
// project and name.
func (p WebhookPolicy) Key() string { return WebhookPolicyKey(p.Project, p.Name) }

// WebhookPolicyKey is the key of policy name of project: the name for a
// system policy (project ""), else "<project>/<name>" (policy names have
// no '/'), so that a project's policies sort together.
func WebhookPolicyKey(project, name string) string {
	if project == "" {
		return name
	}
	return project + "/" + name
}

// Of reports whether delivery d belongs to policy p: the same project,
// name and id (deliveries and policies from before ids have id zero).
func (d Delivery) Of(p WebhookPolicy) bool {
	return d.Project == p.Project && d.Policy == p.Name && d.PolicyID == p.ID
}

// DeleteWebhookPolicy deletes policy p with its delivery log and its
// delivery jobs in tx: pending and finished jobs are deleted, a running
// one is canceled at now (its worker then records nothing). The services that
// delete policies (webhook's, and accounts' when a project goes) share it.
func DeleteWebhookPolicy(tx Tx, p WebhookPolicy, now time.Time) error {
	if err := tx.WebhookPolicies().Delete(p.Key()); err != nil {
		return err
	}
	const batch = 500
	after := ""
	for {
		list, err := tx.Deliveries().List(after, batch)
		if err != nil {
			return err
		}
		for _, d := range list {
			if !d.Of(p) {
				continue
			}
			if err := tx.Deliveries().Delete(d.ID); err != nil {
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
func dropJob(tx Tx, id uint64, now time.Time) error {
	j, err := tx.Jobs().Get(id)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil
	case err != nil:
		return err
	case j.State == JobRunning:
		j.State, j.FinishedAt, j.Worker, j.LeaseUntil = JobCanceled, now, "", time.Time{}
		j.UpdatedAt = now
		return tx.Jobs().Put(j)
	}
	return tx.Jobs().Delete(id)
}
