package meta

import "time"

// WebhookPolicy says which events are sent where.
type WebhookPolicy struct {
	// Name identifies the policy.
	Name string `json:"name"`
	// Description says what it is for.
	Description string `json:"description,omitempty"`
	// Project confines it to one project's events ("" for every project:
	// a system policy).
	Project string `json:"project,omitempty"`
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
	// Policy, Target (index in the policy's targets) and Address say
	// where it goes.
	Policy  string `json:"policy"`
	Project string `json:"project,omitempty"`
	Target  int    `json:"target"`
	Address string `json:"address"`
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
