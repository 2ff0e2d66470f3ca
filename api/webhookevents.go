package api

import (
	"net/http"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/events"
)

// webhookEventsJSON is Harbor's SupportedWebhookEventTypes: what a
// webhook policy may choose.
type webhookEventsJSON struct {
	EventType      []string             `json:"event_type"`
	NotifyType     []string             `json:"notify_type"`
	PayloadFormats []payloadFormatsJSON `json:"payload_formats"`
}

// payloadFormatsJSON lists the payload formats of a notify type.
type payloadFormatsJSON struct {
	NotifyType string   `json:"notify_type"`
	Formats    []string `json:"formats"`
}

// webhookEvents is GET /projects/{project}/webhook/events (Harbor's):
// the event types, target types and payload formats a policy may use,
// to those who manage the project's webhooks.
func (h *Handler) webhookEvents(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if _, err := h.webhookScope(r, p); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, webhookEventsJSON{
		EventType:  append([]string(nil), events.Types...),
		NotifyType: []string{"http", "slack"},
		PayloadFormats: []payloadFormatsJSON{
			{NotifyType: "http", Formats: []string{"Default", "CloudEvents"}},
			{NotifyType: "slack", Formats: []string{"Default"}},
		},
	})
	return nil
}
