package webhookconsumers

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Argo CD Image Updater's webhook server, as argoproj-labs/argocd-image-updater
// has it under pkg/webhook: a registry type chosen by the request picks a
// handler, which validates the request and then parses it into an event; the
// server then looks for the applications whose image list names the event's
// registry and repository.

// argoEvent is what the updater derives from a webhook (its
// argocd.WebhookEvent): the registry's host, the repository within it, the
// tag and the digest.
type argoEvent struct {
	RegistryURL, Repository, Tag, Digest string
}

// argoHandler is one registry's handler: validate looks at the request
// (method, headers, URL) and parse at its body.
type argoHandler interface {
	validate(r *http.Request) error
	parse(body []byte) (argoEvent, error)
}

// argoProcess is the server's dispatch: the registry type comes from the
// "type" query parameter, else the X-Registry-Type header; a request
// without one, or naming no registered handler, is rejected; the handler
// validates, then parses.
// Source: argoproj-labs/argocd-image-updater pkg/webhook/webhook.go
// (ProcessWebhook, detectRegistryType) at 085fb871ab87cc42ef9e402c69b1c2bfb0003a6a.
func argoProcess(handlers map[string]argoHandler, r *http.Request) (argoEvent, error) {
	kind := r.URL.Query().Get("type")
	if kind == "" {
		kind = r.Header.Get("X-Registry-Type")
	}
	if kind == "" {
		return argoEvent{}, errors.New("missing registry type parameter")
	}
	h, ok := handlers[kind]
	if !ok {
		return argoEvent{}, fmt.Errorf("invalid registry type: %s", kind)
	}
	if err := h.validate(r); err != nil {
		return argoEvent{}, err
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return argoEvent{}, err
	}
	return h.parse(body)
}

// argoHarbor is the "harbor" handler, with the secret the operator set
// (--harbor-webhook-secret; "" for none).
type argoHarbor struct{ secret string }

// validate wants a POST with a JSON content type and, when a secret is
// set, an Authorization header equal to it: Harbor sends its policy's auth
// header as Authorization, verbatim, and the updater's documentation asks
// for the plain secret there.
// Source: argoproj-labs/argocd-image-updater pkg/webhook/harbor.go
// (HarborWebhook.Validate) at 05fba7c799c63ea38271f9fd880ebcaa69eac64e.
func (h argoHarbor) validate(r *http.Request) error {
	if r.Method != http.MethodPost {
		return fmt.Errorf("invalid HTTP method: %s", r.Method)
	}
	if ct := r.Header.Get("Content-Type"); !strings.Contains(ct, "application/json") {
		return fmt.Errorf("invalid content type: %s", ct)
	}
	if h.secret == "" {
		return nil
	}
	got := r.Header.Get("Authorization")
	if got == "" {
		return errors.New("missing Authorization header when secret is configured")
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(h.secret)) != 1 {
		return errors.New("incorrect webhook secret")
	}
	return nil
}

// parse reads type, the first resource's tag, digest and resource_url, and
// the repository's repo_full_name (else namespace/name, else name). Only
// PUSH_ARTIFACT is taken; a body without resources, or whose first
// resource has no tag, or without a repository name, is rejected. The
// registry is the host of resource_url (read as a URL, https:// put in
// front when it has no scheme), "harbor" when there is none.
// Source: argoproj-labs/argocd-image-updater pkg/webhook/harbor.go
// (HarborWebhook.Parse) at 05fba7c799c63ea38271f9fd880ebcaa69eac64e.
func (argoHarbor) parse(body []byte) (argoEvent, error) {
	var p struct {
		Type      string `json:"type"`
		EventData struct {
			Resources []struct {
				Digest      string `json:"digest"`
				Tag         string `json:"tag"`
				ResourceURL string `json:"resource_url"`
			} `json:"resources"`
			Repository struct {
				Name         string `json:"name"`
				Namespace    string `json:"namespace"`
				RepoFullName string `json:"repo_full_name"`
			} `json:"repository"`
		} `json:"event_data"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return argoEvent{}, fmt.Errorf("failed to parse webhook payload: %w", err)
	}
	if p.Type != "PUSH_ARTIFACT" {
		return argoEvent{}, fmt.Errorf("unsupported event type: %s", p.Type)
	}
	if len(p.EventData.Resources) == 0 {
		return argoEvent{}, errors.New("no resources found in webhook payload")
	}
	first := p.EventData.Resources[0]
	if first.Tag == "" {
		return argoEvent{}, errors.New("tag not found in webhook payload")
	}
	repo := p.EventData.Repository
	repository := repo.RepoFullName
	if repository == "" {
		repository = repo.Name
		if repo.Namespace != "" && repo.Name != "" {
			repository = repo.Namespace + "/" + repo.Name
		}
	}
	if repository == "" {
		return argoEvent{}, errors.New("repository name not found in webhook payload")
	}
	registry := "harbor"
	if first.ResourceURL != "" {
		full := first.ResourceURL
		if !strings.HasPrefix(full, "http://") && !strings.HasPrefix(full, "https://") {
			full = "https://" + full
		}
		if u, err := url.Parse(full); err == nil {
			registry = u.Host
		} else if head, _, _ := strings.Cut(first.ResourceURL, "/"); strings.Contains(head, ".") {
			registry = head
		}
	}
	return argoEvent{RegistryURL: registry, Repository: repository, Tag: first.Tag, Digest: first.Digest}, nil
}

// argoCloudEvents is the "cloudevents" handler (made for AWS EventBridge),
// with its secret ("" for none).
type argoCloudEvents struct{ secret string }

// validate wants a POST whose content type is JSON or CloudEvents JSON and,
// when a secret is set, that secret in the "secret" query parameter or the
// X-Webhook-Secret header.
// Source: argoproj-labs/argocd-image-updater pkg/webhook/cloudevents.go
// (CloudEventsWebhook.Validate) at 0849d9106f1d89211867938268dcb96d1fbdbe01.
func (c argoCloudEvents) validate(r *http.Request) error {
	if r.Method != http.MethodPost {
		return fmt.Errorf("invalid HTTP method: %s", r.Method)
	}
	ct := r.Header.Get("Content-Type")
	if !strings.Contains(ct, "application/json") && !strings.Contains(ct, "application/cloudevents+json") {
		return fmt.Errorf("invalid content type: %s", ct)
	}
	if c.secret == "" {
		return nil
	}
	got := r.URL.Query().Get("secret")
	if got == "" {
		got = r.Header.Get("X-Webhook-Secret")
	}
	if got == "" {
		return errors.New("missing webhook secret")
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(c.secret)) != 1 {
		return errors.New("invalid webhook secret")
	}
	return nil
}

// parse wants specversion and type; a subject "repo:tag" gives the first
// guess; types starting "com.amazon.ecr." read ECR's data fields and
// source, types containing "container" or "image" read generic data
// fields; any other type is unsupported. Repository, tag and registry are
// then required.
// Source: argoproj-labs/argocd-image-updater pkg/webhook/cloudevents.go
// (Parse, parseEvent, extractECRRegistryURL, extractRegistryFromSource) at
// 0849d9106f1d89211867938268dcb96d1fbdbe01.
func (argoCloudEvents) parse(body []byte) (argoEvent, error) {
	var ce struct {
		SpecVersion string         `json:"specversion"`
		Type        string         `json:"type"`
		Source      string         `json:"source"`
		Subject     string         `json:"subject"`
		Data        map[string]any `json:"data"`
	}
	if err := json.Unmarshal(body, &ce); err != nil {
		return argoEvent{}, fmt.Errorf("failed to parse webhook payload: %w", err)
	}
	switch {
	case ce.SpecVersion == "":
		return argoEvent{}, errors.New("missing CloudEvents specversion")
	case ce.Type == "":
		return argoEvent{}, errors.New("missing CloudEvents type")
	}
	var ev argoEvent
	if repo, tag, ok := strings.Cut(ce.Subject, ":"); ok {
		ev.Repository, ev.Tag = repo, tag
	}
	str := func(key string) (string, bool) { s, ok := ce.Data[key].(string); return s, ok }
	firstOf := func(keys ...string) string {
		for _, k := range keys {
			if s, ok := str(k); ok && s != "" {
				return s
			}
		}
		return ""
	}
	switch {
	case strings.HasPrefix(ce.Type, "com.amazon.ecr."):
		if s := firstOf("repositoryName"); s != "" {
			ev.Repository = s
		}
		if s := firstOf("imageTag"); s != "" {
			ev.Tag = s
		}
		ev.Digest, _ = str("imageDigest")
		if strings.HasPrefix(ce.Source, "urn:aws:ecr:") || strings.HasPrefix(ce.Source, "arn:aws:ecr:") {
			if parts := strings.Split(ce.Source, ":"); len(parts) >= 5 {
				account := parts[4]
				if id := firstOf("registryId"); id != "" {
					account = id
				}
				ev.RegistryURL = account + ".dkr.ecr." + parts[3] + ".amazonaws.com"
			}
		}
	case strings.Contains(ce.Type, "container") || strings.Contains(ce.Type, "image"):
		if s := firstOf("repositoryName", "repository"); s != "" {
			ev.Repository = s
		}
		if s := firstOf("imageTag", "tag"); s != "" {
			ev.Tag = s
		}
		if s, ok := str("imageDigest"); ok {
			ev.Digest = s
		} else {
			ev.Digest, _ = str("digest")
		}
		if s, ok := str("registryUrl"); ok {
			ev.RegistryURL = s
		} else if s, ok := str("registry"); ok {
			ev.RegistryURL = s
		} else {
			ev.RegistryURL = argoRegistryOfSource(ce.Source)
		}
	default:
		return argoEvent{}, fmt.Errorf("unsupported CloudEvents type: %s", ce.Type)
	}
	switch {
	case ev.Repository == "":
		return argoEvent{}, errors.New("repository name not found in CloudEvents payload")
	case ev.Tag == "":
		return argoEvent{}, errors.New("tag not found in CloudEvents payload")
	case ev.RegistryURL == "":
		return argoEvent{}, errors.New("registry URL not found in CloudEvents payload")
	}
	return ev, nil
}

// argoRegistryOfSource is the host of an http(s) source, else its first
// path segment when that has a dot.
func argoRegistryOfSource(source string) string {
	if strings.HasPrefix(source, "http://") || strings.HasPrefix(source, "https://") {
		if parts := strings.Split(source, "/"); len(parts) >= 3 {
			return parts[2]
		}
	}
	if head, _, _ := strings.Cut(source, "/"); strings.Contains(head, ".") {
		return head
	}
	return ""
}

// argoWatches says whether an application whose image list holds image
// (an entry of the argocd-image-updater.argoproj.io/image-list annotation,
// without alias) is updated by ev: the image's registry, when it names
// one, must be the event's, and its path must be the event's repository.
// The image is read as distribution's ParseNormalizedNamed reads it, here
// through go-containerregistry's parser, which has the same grammar and
// host rule: Docker Hub, unless written out, counts as no registry, and
// an implied "library/" is dropped.
// Source: argoproj-labs/argocd-image-updater pkg/webhook/server.go
// (findMatchingApplications) at 04a58eca92c19bcac03a34ed16347b0a3b1453e3 and
// registry-scanner/pkg/image/image.go (NewFromIdentifier) at
// 8a95b233f67439db0a750f98c30e3e428891490c.
func argoWatches(image string, ev argoEvent) bool {
	ref, err := name.ParseReference(image, name.WeakValidation)
	if err != nil {
		return false
	}
	registry, path := ref.Context().RegistryStr(), ref.Context().RepositoryStr()
	if registry == name.DefaultRegistry && !strings.HasPrefix(image, "docker.io") && !strings.HasPrefix(image, name.DefaultRegistry) {
		registry = ""
	}
	if !strings.HasPrefix(image, "library/") {
		path = strings.TrimPrefix(path, "library/")
	}
	return (registry == "" || registry == ev.RegistryURL) && path == ev.Repository
}
