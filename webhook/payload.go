package webhook

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry/naming"
)

// Payload is Harbor's default webhook body.
type Payload struct {
	Type      string    `json:"type"`
	OccurAt   int64     `json:"occur_at"`
	Operator  string    `json:"operator"`
	EventData EventData `json:"event_data"`
}

// EventData is Harbor's event_data.
type EventData struct {
	Resources  []Resource  `json:"resources,omitempty"`
	Repository *Repository `json:"repository,omitempty"`
	// Custom carries Berth's events that are not about artifacts.
	Custom map[string]string `json:"custom_attributes,omitempty"`
}

// Resource is one artifact of an event.
type Resource struct {
	Digest      string `json:"digest,omitempty"`
	Tag         string `json:"tag,omitempty"`
	ResourceURL string `json:"resource_url,omitempty"`
	// ScanOverview is a scanning event's overview of the artifact's scan,
	// keyed by report type.
	ScanOverview json.RawMessage `json:"scan_overview,omitempty"`
}

// Repository is the repository of an event.
type Repository struct {
	DateCreated  int64  `json:"date_created,omitempty"`
	Name         string `json:"name"`
	Namespace    string `json:"namespace"`
	RepoFullName string `json:"repo_full_name"`
	RepoType     string `json:"repo_type"` // "public" or "private"
}

// Context is what rendering needs besides the event: the registry's
// address for resource URLs, and the repository's record and visibility.
type Context struct {
	// Host is the registry's host[:port] as clients name it.
	Host string
	// Created is when the repository was created (zero: unknown).
	Created time.Time
	// Public is the visibility of the event's project.
	Public bool
}

// Harbor renders e as Harbor's default payload.
func Harbor(e meta.Event, c Context) Payload {
	p := Payload{Type: e.Type, OccurAt: e.Time.Unix(), Operator: e.Operator}
	if e.Repository != "" {
		ns := naming.ProjectOf(e.Repository)
		name := strings.TrimPrefix(e.Repository[len(ns):], "/")
		repoType := "private"
		if c.Public {
			repoType = "public"
		}
		p.EventData.Repository = &Repository{Name: name, Namespace: ns, RepoFullName: e.Repository, RepoType: repoType}
		if !c.Created.IsZero() {
			p.EventData.Repository.DateCreated = c.Created.Unix()
		}
	}
	if e.Digest != "" || e.Tag != "" {
		tags := []string{e.Tag}
		if all := e.Details["tags"]; all != "" {
			tags = strings.Split(all, ",")
		}
		for _, tag := range tags {
			r := Resource{Digest: e.Digest, Tag: tag}
			if o := e.Details["scan_overview"]; o != "" && json.Valid([]byte(o)) {
				r.ScanOverview = json.RawMessage(o)
			}
			switch {
			case tag != "":
				r.ResourceURL = c.Host + "/" + e.Repository + ":" + tag
			case e.Digest != "":
				r.ResourceURL = c.Host + "/" + e.Repository + "@" + e.Digest
			}
			p.EventData.Resources = append(p.EventData.Resources, r)
		}
	}
	quotaEvent := e.Type == events.QuotaWarning || e.Type == events.QuotaExceed
	if e.Resource != "" || len(e.Details) > 0 && (e.Digest == "" || quotaEvent) {
		p.EventData.Custom = map[string]string{}
		for k, v := range e.Details {
			p.EventData.Custom[k] = v
		}
		if e.Resource != "" {
			p.EventData.Custom["resource"] = e.Resource
		}
	}
	return p
}

// cloudEventTypes are Harbor's CloudEvents types for its event types.
var cloudEventTypes = map[string]string{
	events.PushArtifact:      "harbor.artifact.pushed",
	events.PullArtifact:      "harbor.artifact.pulled",
	events.DeleteArtifact:    "harbor.artifact.deleted",
	events.ScanningCompleted: "harbor.scan.completed",
	events.ScanningFailed:    "harbor.scan.failed",
	events.QuotaExceed:       "harbor.quota.exceed",
	events.QuotaWarning:      "harbor.quota.warning",
	events.Replication:       "harbor.replication.status.changed",
	events.TagRetention:      "harbor.tag_retention.finished",
}

// CloudEventType is the CloudEvents type of an event type: Harbor's where
// it has one, else "berth." and the type in lower case.
func CloudEventType(t string) string {
	if ce, ok := cloudEventTypes[t]; ok {
		return ce
	}
	return "berth." + strings.ToLower(t)
}

// CloudEvent renders e as a CloudEvents 1.0 event whose data is Harbor's
// event_data, with id the delivery id and source the registry.
func CloudEvent(e meta.Event, c Context, id string) ([]byte, error) {
	p := Harbor(e, c)
	ce := cloudevents.NewEvent()
	ce.SetID(id)
	ce.SetSource("/berth/" + c.Host)
	ce.SetType(CloudEventType(e.Type))
	ce.SetTime(e.Time)
	if e.Repository != "" {
		ce.SetSubject(e.Repository)
	}
	if e.Operator != "" {
		ce.SetExtension("operator", e.Operator)
	}
	if err := ce.SetData(cloudevents.ApplicationJSON, p.EventData); err != nil {
		return nil, err
	}
	if err := ce.Validate(); err != nil {
		return nil, fmt.Errorf("webhook: cloudevent: %w", err)
	}
	return json.Marshal(ce)
}

// Slack renders e as a Slack message.
func Slack(e meta.Event, c Context) ([]byte, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "*%s*", e.Type)
	if e.Repository != "" {
		fmt.Fprintf(&b, " `%s/%s", c.Host, e.Repository)
		if e.Tag != "" {
			fmt.Fprintf(&b, ":%s", e.Tag)
		}
		b.WriteString("`")
	}
	if e.Digest != "" {
		fmt.Fprintf(&b, " (%s)", e.Digest)
	}
	if e.Operator != "" {
		fmt.Fprintf(&b, " by %s", e.Operator)
	}
	fmt.Fprintf(&b, " at %s", e.Time.UTC().Format(time.RFC3339))
	return json.Marshal(map[string]string{"text": b.String()})
}
