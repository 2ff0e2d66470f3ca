package kraken

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/berthreg/berth/preheat"
)

// The media types of the notification.
const (
	// eventsMediaType is the Content-Type of a Docker registry
	// notification envelope (Kraken does not look at it).
	eventsMediaType = "application/vnd.docker.distribution.events.v1+json"
	// manifestMediaType is the target media type every event carries: a
	// Docker image manifest, schema 2, the only kind Kraken's proxy
	// preheats (it drops events of other types unread).
	manifestMediaType = "application/vnd.docker.distribution.manifest.v2+json"
)

// envelope is the body Preheat posts: a Docker registry notification
// with one push event, in the registry's own spelling. Kraken's proxy
// decodes it with encoding/json, whose field matching ignores case, into
// its own copy of the types (Events; Id, TimeStamp, Action, Target;
// MediaType, Digest, Repository, Url, Tag).
type envelope struct {
	// Events holds the one event.
	Events []event `json:"events"`
}

// event is one notification event.
type event struct {
	// ID is the event's random id, also the job's.
	ID string `json:"id"`
	// Timestamp is when Preheat sent it.
	Timestamp time.Time `json:"timestamp"`
	// Action is "push": Kraken preheats push events only.
	Action string `json:"action"`
	// Target is the manifest pushed.
	Target target `json:"target"`
}

// target is the manifest an event is about. Kraken reads Repository and
// Digest, after filtering on MediaType; URL and Tag are sent as Harbor
// sends them, for a reader of its logs.
type target struct {
	// MediaType is always manifestMediaType.
	MediaType string `json:"mediaType"`
	// Digest is the manifest's digest ("sha256:<64 hex>").
	Digest string `json:"digest"`
	// Repository is the repository's full name, which is also the
	// namespace Kraken's origin pulls the blobs under.
	Repository string `json:"repository"`
	// URL is the manifest's address on this registry.
	URL string `json:"url"`
	// Tag is the tag the artifact was selected by ("" when by digest).
	Tag string `json:"tag,omitempty"`
}

// Preheat posts a push notification for img to the proxy's
// /registry/notifications, as Harbor's Kraken driver does, and returns
// a final job at once: Kraken has no job to read back. Its proxy answers
// 200 once it has the manifest in its origin (the origin pulls it from
// this registry, by digest) and has started asking the origin to cache
// each blob the manifest references, which the origin pulls in the
// background; it answers 200 even when that failed, logging why. So a 2xx is
// StatusSuccess, "Kraken took the preheat", as in Harbor. Any other
// answer, or no answer, is an error, for the caller to retry.
//
// An image Kraken cannot take is a failed job, without a request: an
// empty repository, a digest that is not sha256 (Kraken parses nothing
// else), or a MediaType other than a Docker schema 2 image manifest (an
// OCI manifest or an index, whose blobs Kraken would never fetch). img.Headers and img.Scope are not sent: Kraken pulls
// with the credentials configured for its origin's registry backend,
// and always into its origins (the seeders its agents fetch from).
//
// Kraken v0.1.4 parses the manifest as a Docker schema 2 image manifest
// whatever the event says (utils/dockerutil.ParseManifestV2): for an OCI
// manifest or an index it caches the manifest alone and logs the parse
// error, and answers 200 all the same. So an Image without a MediaType
// is sent, and succeeds, whatever it is.
func (p *provider) Preheat(ctx context.Context, img preheat.Image) (preheat.Job, error) {
	id := newID()
	if msg := unsupported(img); msg != "" {
		job := preheat.Job{ID: id, Status: preheat.StatusFailed, Message: msg}
		p.jobs.put(job)
		return job, nil
	}
	env := envelope{Events: []event{{
		ID:        id,
		Timestamp: time.Now().UTC(),
		Action:    "push",
		Target: target{MediaType: manifestMediaType, Digest: img.Digest, Repository: img.Repository,
			URL: img.URL, Tag: img.Tag},
	}}}
	body, err := json.Marshal(env)
	if err != nil {
		return preheat.Job{}, fmt.Errorf("kraken: preheat: %w", err)
	}
	if _, err := p.do(ctx, http.MethodPost, notificationsPath, eventsMediaType, bytes.NewReader(body)); err != nil {
		return preheat.Job{}, fmt.Errorf("kraken: preheat %s@%s: %w", img.Repository, img.Digest, err)
	}
	job := preheat.Job{ID: id, Status: preheat.StatusSuccess}
	p.jobs.put(job)
	return job, nil
}

// unsupported says why Kraken cannot preheat img, "" when it can.
func unsupported(img preheat.Image) string {
	if img.Repository == "" {
		return "kraken: the image has no repository"
	}
	if img.MediaType != "" && img.MediaType != manifestMediaType {
		return fmt.Sprintf("kraken: Kraken preheats Docker schema 2 image manifests only, not %s", img.MediaType)
	}
	hexPart, ok := strings.CutPrefix(img.Digest, "sha256:")
	if !ok || len(hexPart) != 64 {
		return fmt.Sprintf("kraken: Kraken preheats by sha256 digest only, got %q", img.Digest)
	}
	if _, err := hex.DecodeString(hexPart); err != nil {
		return fmt.Sprintf("kraken: Kraken preheats by sha256 digest only, got %q", img.Digest)
	}
	return ""
}

// newID is a random event and job id (32 hex digits).
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
