package server

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// EventsConfig configures the event log, webhook deliveries and the audit
// log.
type EventsConfig struct {
	// PullSample is the share of pulls logged: 0 none (default), 1 all
	// (BERTH_PULL_EVENT_SAMPLE).
	PullSample float64 `yaml:"pullSample"`
	// ExternalHost is host[:port] as clients name the registry, for the
	// resource URLs of webhook payloads; default the host (and path) of
	// externalURL, else addr (BERTH_EXTERNAL_HOST).
	ExternalHost string `yaml:"externalHost"`
	// WebhookMaxAttempts, WebhookBackoff and WebhookMaxBackoff set a
	// delivery's retries: 10 attempts, from 1s doubling to 10m
	// (BERTH_WEBHOOK_MAX_ATTEMPTS, BERTH_WEBHOOK_BACKOFF,
	// BERTH_WEBHOOK_MAX_BACKOFF).
	WebhookMaxAttempts int           `yaml:"webhookMaxAttempts"`
	WebhookBackoff     time.Duration `yaml:"webhookBackoff"`
	WebhookMaxBackoff  time.Duration `yaml:"webhookMaxBackoff"`
	// WebhookConcurrency caps deliveries in flight (BERTH_WEBHOOK_CONCURRENCY,
	// default 4).
	WebhookConcurrency int `yaml:"webhookConcurrency"`
	// JobLease is how long a running job stays leased without a heartbeat:
	// after a crash its job runs again once it expires (BERTH_JOB_LEASE,
	// default 30s). It is also the lease of the event log's Func
	// consumers (the syslog forwarder, a host's consumers): how long the
	// other instances wait before they take over a batch whose instance
	// died. A host consumer's own events.WithLease prevails.
	JobLease time.Duration `yaml:"jobLease"`
	// AuditRetention, when set, deletes events (the audit log) older than
	// it that every consumer has handled, on AuditPurgeSchedule, a cron
	// spec with seconds (BERTH_AUDIT_RETENTION, e.g. 720h;
	// BERTH_AUDIT_PURGE_SCHEDULE, default "0 30 3 * * *").
	AuditRetention     time.Duration `yaml:"auditRetention"`
	AuditPurgeSchedule string        `yaml:"auditPurgeSchedule"`
	// Syslog, when set, forwards the audit log to a syslog server:
	// "udp://host:514", "tcp://host:514" (BERTH_AUDIT_SYSLOG).
	Syslog string `yaml:"syslog"`
}

// validate checks the events settings.
func (c EventsConfig) validate() error {
	switch {
	case c.PullSample < 0 || c.PullSample > 1:
		return fmt.Errorf("config: events.pullSample %v must be between 0 and 1", c.PullSample)
	case c.WebhookMaxAttempts < 1:
		return fmt.Errorf("config: events.webhookMaxAttempts %d must be at least 1", c.WebhookMaxAttempts)
	case c.WebhookBackoff <= 0 || c.WebhookMaxBackoff < c.WebhookBackoff:
		return fmt.Errorf("config: events.webhookBackoff %s must be positive and at most events.webhookMaxBackoff %s", c.WebhookBackoff, c.WebhookMaxBackoff)
	case c.AuditRetention < 0:
		return fmt.Errorf("config: events.auditRetention %s must not be negative", c.AuditRetention)
	case c.JobLease < time.Second:
		return fmt.Errorf("config: events.jobLease %s must be at least 1s", c.JobLease)
	case c.WebhookConcurrency < 1:
		return fmt.Errorf("config: events.webhookConcurrency %d must be at least 1", c.WebhookConcurrency)
	case c.Syslog != "" && !strings.HasPrefix(c.Syslog, "udp://") && !strings.HasPrefix(c.Syslog, "tcp://"):
		return fmt.Errorf("config: events.syslog %q must be udp://host:port or tcp://host:port", c.Syslog)
	}
	return nil
}

// ReplicationConfig tunes how replication tasks run (policies and
// endpoints are managed through the admin API).
type ReplicationConfig struct {
	// Concurrency caps the tasks running at once across instances
	// (BERTH_REPLICATION_CONCURRENCY, default 4).
	Concurrency int `yaml:"concurrency"`
	// TaskAttempts is a task's attempts unless its policy says otherwise
	// (BERTH_REPLICATION_TASK_ATTEMPTS, default 10).
	TaskAttempts int `yaml:"taskAttempts"`
	// Backoff and MaxBackoff space a task's retries: from 2s doubling to
	// 1m (BERTH_REPLICATION_BACKOFF, BERTH_REPLICATION_MAX_BACKOFF).
	Backoff    time.Duration `yaml:"backoff"`
	MaxBackoff time.Duration `yaml:"maxBackoff"`
}

// validate checks the replication settings.
func (c ReplicationConfig) validate() error {
	switch {
	case c.Concurrency < 1:
		return fmt.Errorf("config: replication.concurrency %d must be at least 1", c.Concurrency)
	case c.TaskAttempts < 1:
		return fmt.Errorf("config: replication.taskAttempts %d must be at least 1", c.TaskAttempts)
	case c.Backoff <= 0 || c.MaxBackoff < c.Backoff:
		return fmt.Errorf("config: replication.backoff %s must be positive and at most replication.maxBackoff %s", c.Backoff, c.MaxBackoff)
	}
	return nil
}

// webhookHost is the host webhook payloads name the registry by:
// events.externalHost, else externalURL's host and path (checked by
// Validate), else addr.
func (c Config) webhookHost() string {
	if c.Events.ExternalHost != "" {
		return c.Events.ExternalHost
	}
	if u, err := url.Parse(c.ExternalURL); err == nil && u.Host != "" {
		return u.Host + strings.TrimSuffix(u.Path, "/")
	}
	return c.Addr
}

// registryURL is the registry's base URL as the machines it sends to
// reach it (P2P providers pulling what they preheat): externalURL, else
// plain HTTP to webhookHost.
func (c Config) registryURL() string {
	if c.ExternalURL != "" {
		return strings.TrimSuffix(c.ExternalURL, "/")
	}
	return "http://" + c.webhookHost()
}
