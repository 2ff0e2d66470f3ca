package webhook

import (
	"testing"
	"time"

	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/meta"
)

// Quota events carry Harbor's custom_attributes "Details" beside the
// artifact they are about.
func TestHarborQuotaPayload(t *testing.T) {
	e := meta.Event{Type: events.QuotaExceed, Time: time.Unix(100, 0), Project: "team", Repository: "team/app",
		Digest: "sha256:abc", Details: map[string]string{"Details": "over the limit", "limit": "10"}}
	p := Harbor(e, Context{Host: "reg.example"})
	if len(p.EventData.Resources) != 1 || p.EventData.Resources[0].Digest != "sha256:abc" {
		t.Fatalf("resources %+v", p.EventData.Resources)
	}
	if p.EventData.Custom["Details"] != "over the limit" || p.EventData.Custom["limit"] != "10" {
		t.Fatalf("custom_attributes %+v", p.EventData.Custom)
	}
	// A push's details stay out of custom_attributes.
	push := meta.Event{Type: events.PushArtifact, Repository: "team/app", Digest: "sha256:abc", Tag: "a",
		Details: map[string]string{"tags": "a,b"}}
	if p := Harbor(push, Context{}); p.EventData.Custom != nil || len(p.EventData.Resources) != 2 {
		t.Fatalf("push payload %+v", p.EventData)
	}
}
