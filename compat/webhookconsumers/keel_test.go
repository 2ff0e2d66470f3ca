package webhookconsumers

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Keel's trigger server (keel-hq/keel, trigger/http) receives Harbor's
// webhooks at POST /v1/webhooks/harbor (route registered by
// TriggerServer.registerRoutes; the handler, harborHandler, came with
// keel-hq/keel pull request #483 and later learnt Harbor 2's
// PUSH_ARTIFACT besides Harbor 1's pushImage). Each event it derives goes
// to its providers, which update the workloads whose image has the event's
// repository.

// keelEvent is what Keel submits to its providers for one resource (its
// types.Event's Repository.Name and Repository.Tag): the image's full
// repository, registry host included, and its tag (the digest for a
// reference by digest).
type keelEvent struct {
	Repository, Tag string
}

// keelServer is Keel's trigger server with its webhook authentication:
// when AUTHENTICATED_WEBHOOKS is true, the provider webhooks need the
// BASIC_AUTH_USER and BASIC_AUTH_PASSWORD credentials (HTTP Basic).
// Source: keel-hq/keel README (environment variables) and cmd/keel
// (AuthenticatedWebhooks from AUTHENTICATED_WEBHOOKS == "true"); the
// middleware itself was not in the stored sources, so the refusal's
// status (401) is the usual one rather than read.
type keelServer struct {
	authenticated  bool
	user, password string
}

// harbor answers a request to /v1/webhooks/harbor with its status and the
// events it submits: a body that is not JSON is refused (400); a type
// other than pushImage or PUSH_ARTIFACT is ignored (200, nothing
// submitted); otherwise every resource's resource_url is read as an image
// reference (keelImage) and submitted, and one that does not parse stops
// the request (400, the events before it already submitted). Only type
// and resource_url are read: neither tag, digest nor repository.
// Source: keel-hq/keel trigger/http TriggerServer.harborHandler, the
// version accepting "pushImage" || "PUSH_ARTIFACT" (the stored copy has no
// path or commit attached; the route is in trigger/http/http.go).
func (k keelServer) harbor(r *http.Request) (int, []keelEvent) {
	if k.authenticated {
		user, pass, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(user), []byte(k.user)) != 1 ||
			subtle.ConstantTimeCompare([]byte(pass), []byte(k.password)) != 1 {
			return http.StatusUnauthorized, nil
		}
	}
	var hook struct {
		Type      string `json:"type"`
		EventData struct {
			Resources []struct {
				ResourceURL string `json:"resource_url"`
			} `json:"resources"`
		} `json:"event_data"`
	}
	if err := json.NewDecoder(r.Body).Decode(&hook); err != nil {
		return http.StatusBadRequest, nil
	}
	if hook.Type != "pushImage" && hook.Type != "PUSH_ARTIFACT" {
		return http.StatusOK, nil
	}
	var out []keelEvent
	for _, res := range hook.EventData.Resources {
		repo, tag, err := keelImage(res.ResourceURL)
		if err != nil {
			return http.StatusBadRequest, out
		}
		out = append(out, keelEvent{Repository: repo, Tag: tag})
	}
	return http.StatusOK, out
}

// keelImage reads an image reference as Keel's util/image.Parse does: an
// http:// or https:// prefix is dropped; the first path segment is the
// registry when it has a dot or a colon or is "localhost", else the
// registry is index.docker.io (and a one-segment name gets "library/");
// no tag means "latest"; names must be lower case. It returns the full
// repository (registry/name) and the tag, or the digest for a reference by
// digest. Docker distribution's reference grammar, which Keel uses, is
// read here through go-containerregistry's parser: same grammar, same
// registry rule, same defaults.
// Source: keel-hq/keel util/image/parse.go (Parse, clean) at
// 1d70e01b98b78110c19fa446975be5f9f47df037 and util/image/reference.go
// (ParseNamed, splitHostname, WithDefaultTag) at
// 35dd41787f233322d88a12c551286183ec99542d.
func keelImage(s string) (repository, tag string, err error) {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "http://"), "https://")
	ref, err := name.ParseReference(s, name.WeakValidation)
	if err != nil {
		return "", "", err
	}
	return ref.Context().Name(), ref.Identifier(), nil
}
