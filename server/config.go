package server

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/berthreg/berth/generation"
	"github.com/berthreg/berth/proxy"
	"github.com/berthreg/berth/ratelimit"
)

// Config is what New builds a server from: plain data, every field with a
// default (DefaultConfig), read from YAML with the keys of the yaml tags
// and overridden by BERTH_* environment variables (ApplyEnv, the variable
// shown with each field). Validate checks it; New does too.
type Config struct {
	// Addr is the listen address (BERTH_ADDR). New does not listen: it is
	// the address the server's own calls reach it at (the built-in
	// scanner's internal URL) and the default events.externalHost.
	Addr string `yaml:"addr"`
	// DataDir holds the fs storage, the bbolt metadata file and a
	// generated admin password (BERTH_DATA_DIR).
	DataDir string `yaml:"dataDir"`
	// LogLevel is debug, info, warn or error (BERTH_LOG_LEVEL), for the
	// logger of the program that runs the server (see WithLogger).
	LogLevel string `yaml:"logLevel"`
	// Storage selects and configures the blob storage driver.
	Storage StorageConfig `yaml:"storage"`
	// Metadata selects and configures the metadata store.
	Metadata MetadataConfig `yaml:"metadata"`
	// Registry tunes the distribution API.
	Registry RegistryConfig `yaml:"registry"`
	// Auth configures authentication and access control.
	Auth AuthConfig `yaml:"auth"`
	// Events configures the event log, webhooks and the audit log.
	Events EventsConfig `yaml:"events"`
	// Replication tunes the replication engine.
	Replication ReplicationConfig `yaml:"replication"`
	// Scan configures vulnerability scanning.
	Scan ScanConfig `yaml:"scan"`
	// Quota sets the projects' storage quotas.
	Quota QuotaConfig `yaml:"quota"`
	// Trust configures content trust's keyless verification.
	Trust TrustConfig `yaml:"trust"`
	// Proxy configures the registry mirror that proxy cache projects
	// serve at the root.
	Proxy ProxyConfig `yaml:"proxy"`
	// Outbound says which internal addresses the server's own calls
	// (webhooks, replication endpoints, scanner adapters) may reach.
	Outbound OutboundConfig `yaml:"outbound"`
	// ShutdownTimeout bounds the graceful shutdown of the program serving
	// Handler (BERTH_SHUTDOWN_TIMEOUT).
	ShutdownTimeout time.Duration `yaml:"shutdownTimeout"`
	// HTTP bounds what clients can make the server hold open.
	HTTP HTTPConfig `yaml:"http"`
	// ExternalURL is the registry's URL as clients reach it, e.g.
	// https://registry.example.com; when set, a path auth.realm is made
	// absolute with it instead of each request's Host header
	// (BERTH_EXTERNAL_URL).
	ExternalURL string `yaml:"externalURL"`
	// DebugAddr, when set, is where the program serving Handler serves
	// Go's pprof profiles and the metrics; keep it on loopback
	// (BERTH_DEBUG_ADDR).
	DebugAddr string `yaml:"debugAddr"`
	// TLS makes Serve speak HTTPS.
	TLS TLSConfig `yaml:"tls"`
	// Metrics says whether Handler serves the metrics too.
	Metrics MetricsConfig `yaml:"metrics"`
	// Tracing sends OpenTelemetry traces to a collector.
	Tracing TracingConfig `yaml:"tracing"`
	// Portal configures the web portal (package ui).
	Portal PortalConfig `yaml:"portal"`
}

// PortalConfig configures the web portal Handler serves at "/" beside
// the admin API (it needs auth on, as the API does).
type PortalConfig struct {
	// Off leaves "/" unanswered (BERTH_PORTAL_OFF).
	Off bool `yaml:"off"`
}

// HTTPConfig bounds what clients can make the server hold open.
type HTTPConfig struct {
	// ReadHeaderTimeout bounds the reading of a request's headers, for the
	// http.Server serving Handler (BERTH_HTTP_READ_HEADER_TIMEOUT, default
	// 30s).
	ReadHeaderTimeout time.Duration `yaml:"readHeaderTimeout"`
	// BodyIdleTimeout cuts a request body that sends nothing for that long
	// and closes its connection; a slow body that keeps sending is not cut
	// (BERTH_HTTP_BODY_IDLE_TIMEOUT, default 60s, 0 = off).
	BodyIdleTimeout time.Duration `yaml:"bodyIdleTimeout"`
	// MaxAnonymousRequests caps requests without credentials (no
	// Authorization header, no session cookie) in flight at once; more
	// get 503 with Retry-After. Only with auth on, where clients send
	// credentials or tokens for anything but the ping, the token and the
	// login; the probes /healthz and /readyz are not capped
	// (BERTH_HTTP_MAX_ANONYMOUS_REQUESTS, default 256, 0 = no cap).
	MaxAnonymousRequests int `yaml:"maxAnonymousRequests"`
	// TrustedProxies are the addresses and CIDR prefixes of the proxies in
	// front whose X-Forwarded-For, X-Forwarded-Proto and X-Forwarded-Host
	// are believed: the client address that limits count, and the scheme
	// and host of the URLs the server builds. From anyone else those
	// headers are dropped (BERTH_HTTP_TRUSTED_PROXIES, comma-separated;
	// unset: loopback only; "none" or an empty list: none).
	TrustedProxies []string `yaml:"trustedProxies"`
	// RateLimits bound how fast each client address, and each
	// authenticated principal, may send requests of a route class
	// (v2_base, catalog, manifest, blob, blob_upload, tags, referrers,
	// token, api, session, other; "*" for the classes without a rule of
	// their own); more get 429 with Retry-After. The probes and /metrics
	// are never limited, nor the server's own calls
	// (BERTH_HTTP_RATE_LIMITS, e.g. "*:address=100/200,manifest:principal=50/100":
	// route:per=rate/burst; default none).
	RateLimits []ratelimit.Rule `yaml:"rateLimits"`
}

// RegistryConfig tunes the distribution API handler.
type RegistryConfig struct {
	// MaxManifestSize caps pushed manifests in bytes (BERTH_MAX_MANIFEST_SIZE).
	MaxManifestSize int64 `yaml:"maxManifestSize"`
	// MaxBlobSize caps one blob in bytes, 0 = no cap (BERTH_MAX_BLOB_SIZE).
	MaxBlobSize int64 `yaml:"maxBlobSize"`
	// SparseManifests accepts manifests whose blobs were not pushed (BERTH_SPARSE_MANIFESTS).
	SparseManifests bool `yaml:"sparseManifests"`
	// AnonymousMount allows mount without from= (BERTH_ANONYMOUS_MOUNT).
	// Unset, it is on only with auth disabled; it cannot be on with auth.
	AnonymousMount *bool `yaml:"anonymousMount"`
	// Deletes enables DELETE of blobs, manifests and tags (BERTH_DELETES,
	// default true).
	Deletes *bool `yaml:"deletes"`
}

// DefaultConfig is the configuration of a server without a config file:
// 127.0.0.1:5000, fs storage and bbolt metadata under ./data, auth on.
func DefaultConfig() Config {
	return Config{
		Addr:     "127.0.0.1:5000",
		DataDir:  "./data",
		LogLevel: "info",
		Storage:  StorageConfig{Driver: "fs"},
		Metadata: MetadataConfig{Driver: "bolt", Refresh: generation.DefaultInterval},
		Registry: RegistryConfig{MaxManifestSize: 4 << 20},
		Auth: AuthConfig{Service: "berth-registry", Realm: "/service/token", TokenLifetime: 15 * time.Minute,
			HashCost: bcrypt.DefaultCost},
		Events: EventsConfig{WebhookMaxAttempts: 10, WebhookBackoff: time.Second, WebhookMaxBackoff: 10 * time.Minute,
			WebhookConcurrency: 4, JobLease: 30 * time.Second, AuditPurgeSchedule: "0 30 3 * * *"},
		Replication:     ReplicationConfig{Concurrency: 4, TaskAttempts: 10, Backoff: 2 * time.Second, MaxBackoff: time.Minute},
		Scan:            ScanConfig{Concurrency: 2, Timeout: 30 * time.Minute, TokenLifetime: 30 * time.Minute},
		Quota:           QuotaConfig{DefaultLimit: -1, WarnAt: 85, RecomputeSchedule: "0 0 4 * * 0"},
		Proxy:           ProxyConfig{ExpireAfter: proxy.DefaultExpireAfter, ExpireSchedule: "0 30 3 * * *", UpstreamFetches: 8},
		ShutdownTimeout: 30 * time.Second,
		Tracing:         TracingConfig{SampleRatio: 0.01, ServiceName: "berth-registry"},
		HTTP:            HTTPConfig{ReadHeaderTimeout: 30 * time.Second, BodyIdleTimeout: time.Minute, MaxAnonymousRequests: 256},
	}
}

// Validate checks c; an error names the offending key.
func (c Config) Validate() error {
	switch {
	case c.Addr == "":
		return errors.New("config: addr must not be empty")
	case c.DataDir == "":
		return errors.New("config: dataDir must not be empty")
	case c.Registry.MaxManifestSize <= 0:
		return fmt.Errorf("config: registry.maxManifestSize must be positive, got %d", c.Registry.MaxManifestSize)
	case c.Registry.MaxBlobSize < 0:
		return fmt.Errorf("config: registry.maxBlobSize must not be negative, got %d", c.Registry.MaxBlobSize)
	case c.ShutdownTimeout <= 0:
		return fmt.Errorf("config: shutdownTimeout must be positive, got %s", c.ShutdownTimeout)
	}
	if err := validExternalURL(c.ExternalURL); err != nil {
		return err
	}
	if err := c.HTTP.validate(); err != nil {
		return err
	}
	if err := c.TLS.validate(); err != nil {
		return err
	}
	if err := c.Metrics.validate(); err != nil {
		return err
	}
	if err := c.Tracing.validate(); err != nil {
		return err
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("config: logLevel %q must be debug, info, warn or error", c.LogLevel)
	}
	if err := c.Auth.validate(c.Registry.AnonymousMount); err != nil {
		return err
	}
	if err := c.Metadata.validate(); err != nil {
		return err
	}
	if err := c.Events.validate(); err != nil {
		return err
	}
	if err := c.Replication.validate(); err != nil {
		return err
	}
	if err := c.Quota.validate(); err != nil {
		return err
	}
	if err := c.Proxy.validate(); err != nil {
		return err
	}
	if err := c.Scan.validate(); err != nil {
		return err
	}
	if _, err := c.Outbound.guard(); err != nil {
		return err
	}
	return c.Storage.validate()
}

// validate checks the http settings.
func (c HTTPConfig) validate() error {
	switch {
	case c.ReadHeaderTimeout <= 0:
		return fmt.Errorf("config: http.readHeaderTimeout %s must be positive", c.ReadHeaderTimeout)
	case c.BodyIdleTimeout < 0:
		return fmt.Errorf("config: http.bodyIdleTimeout %s must not be negative (0 turns it off)", c.BodyIdleTimeout)
	case c.MaxAnonymousRequests < 0:
		return fmt.Errorf("config: http.maxAnonymousRequests %d must not be negative (0: no cap)", c.MaxAnonymousRequests)
	}
	if _, err := c.trustedProxies(); err != nil {
		return err
	}
	if _, err := ratelimit.New(c.RateLimits); err != nil {
		return fmt.Errorf("config: http.rateLimits: %w", err)
	}
	return nil
}

// validExternalURL checks externalURL: empty, or an http(s) URL of a host
// with at most a path prefix.
func validExternalURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("config: externalURL %q must be an http:// or https:// URL of a host, without query or credentials", s)
	}
	return nil
}
