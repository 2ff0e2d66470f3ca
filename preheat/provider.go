package preheat

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// Status is where a provider's preheat job stands, in Harbor's words.
type Status string

// The statuses of a preheat job.
const (
	// StatusPending: the provider accepted the job and has not started it.
	StatusPending Status = "PENDING"
	// StatusRunning: the provider is pulling the artifact into its peers.
	StatusRunning Status = "RUNNING"
	// StatusSuccess: the artifact's layers are in the provider's peers.
	StatusSuccess Status = "SUCCESS"
	// StatusFailed: the provider gave up; Job.Message says why.
	StatusFailed Status = "FAIL"
)

// Done reports whether s is final.
func (s Status) Done() bool { return s == StatusSuccess || s == StatusFailed }

// Image is one artifact a provider is asked to preheat: the manifest the
// provider pulls from this registry, and the credentials it pulls with.
type Image struct {
	// Repository is the repository's full name ("library/app").
	Repository string
	// Tag is the tag the artifact was selected by ("" when by digest).
	Tag string
	// Digest is the manifest's digest.
	Digest string
	// MediaType is the manifest's media type (an OCI or Docker image
	// manifest, or an index of them), for providers that take only some.
	MediaType string
	// URL is the manifest's address on this registry, as the provider
	// reaches it: "<externalURL>/v2/<repository>/manifests/<tag or digest>".
	URL string
	// Headers are sent with every pull the provider makes for this job
	// (Authorization: a bearer token granting pull on Repository alone,
	// short-lived).
	Headers map[string]string
	// Scope is how far the provider spreads the artifact: ScopeSinglePeer
	// or ScopeAllPeers ("" means ScopeSinglePeer).
	Scope string
}

// The scopes of a preheat, Harbor's policy scope values.
const (
	// ScopeSinglePeer preheats into one seed peer of each cluster.
	ScopeSinglePeer = "single_peer"
	// ScopeAllPeers preheats into every peer.
	ScopeAllPeers = "all_peers"
)

// Job is a provider's preheat job as the provider reports it.
type Job struct {
	// ID is the provider's own id of the job, what Provider.Job reads.
	ID string
	// Status is where it stands.
	Status Status
	// Message is the provider's explanation of a failure ("" otherwise).
	Message string
}

// Provider is one P2P distribution system's API, as one instance of it is
// reached: Berth asks it to preheat an artifact and then polls the job.
// Implementations are in the subpackages (dragonfly, kraken).
type Provider interface {
	// Health returns nil when the instance answers and is ready to take
	// jobs; an error says what is wrong.
	Health(ctx context.Context) error
	// Preheat asks the instance to pull img into its peers and returns
	// the job it started (a provider that finishes at once returns a
	// final status and may return an ID that Job cannot read).
	Preheat(ctx context.Context, img Image) (Job, error)
	// Job reads the status of a job Preheat started.
	Job(ctx context.Context, id string) (Job, error)
}

// The modes of an instance's credentials, Harbor's auth_mode values.
const (
	// AuthNone sends no credentials.
	AuthNone = "NONE"
	// AuthBasic sends AuthInfo "username" and "password" as basic auth.
	AuthBasic = "BASIC"
	// AuthOAuth sends AuthInfo "token" as a bearer token.
	AuthOAuth = "OAUTH"
)

// Endpoint is what a provider is made from: where an instance is, how to
// authenticate to it, and the HTTP client to reach it with.
type Endpoint struct {
	// URL is the instance's base URL ("http://127.0.0.1:8080").
	URL string
	// AuthMode is AuthNone, AuthBasic or AuthOAuth.
	AuthMode string
	// AuthInfo holds the credentials AuthMode names.
	AuthInfo map[string]string
	// Client sends the requests: the server's outbound client (addresses
	// guarded by package netguard, TLS verification per the instance's
	// Insecure). Nil means http.DefaultClient.
	Client *http.Client
}

// ErrBadEndpoint wraps what a Factory refuses: a URL that is not http or
// https, or credentials missing for the AuthMode.
var ErrBadEndpoint = errors.New("preheat: bad endpoint")

// Factory makes the Provider for one instance of a vendor.
type Factory func(e Endpoint) (Provider, error)

// CheckAuth refuses an unknown AuthMode and one whose credentials are
// missing from AuthInfo ("username" and "password" for AuthBasic,
// "token" for AuthOAuth), with an error wrapping ErrBadEndpoint: what
// every Factory checks before it makes a provider.
func (e Endpoint) CheckAuth() error {
	switch e.AuthMode {
	case "", AuthNone:
		return nil
	case AuthBasic:
		if e.AuthInfo["username"] == "" || e.AuthInfo["password"] == "" {
			return fmt.Errorf("%w: auth mode %s needs auth_info username and password", ErrBadEndpoint, e.AuthMode)
		}
		return nil
	case AuthOAuth:
		if e.AuthInfo["token"] == "" {
			return fmt.Errorf("%w: auth mode %s needs auth_info token", ErrBadEndpoint, e.AuthMode)
		}
		return nil
	}
	return fmt.Errorf("%w: unknown auth mode %q", ErrBadEndpoint, e.AuthMode)
}

// Authorize sets on req the credentials e's AuthMode names.
func (e Endpoint) Authorize(req *http.Request) {
	switch e.AuthMode {
	case AuthBasic:
		req.SetBasicAuth(e.AuthInfo["username"], e.AuthInfo["password"])
	case AuthOAuth:
		req.Header.Set("Authorization", "Bearer "+e.AuthInfo["token"])
	}
}

// HTTPClient is e.Client, or http.DefaultClient when it is nil.
func (e Endpoint) HTTPClient() *http.Client {
	if e.Client != nil {
		return e.Client
	}
	return http.DefaultClient
}
