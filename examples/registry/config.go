package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gopkg.in/yaml.v3"

	"github.com/berthreg/berth/netguard"
)

// Config is the example server's configuration: one YAML file, every key
// optional, each overridable by an environment variable (shown in the tag).
type Config struct {
	// Addr is the listen address (BERTH_ADDR).
	Addr string `yaml:"addr"`
	// DataDir holds the fs storage and the bbolt metadata file (BERTH_DATA_DIR).
	DataDir string `yaml:"dataDir"`
	// LogLevel is debug, info, warn or error (BERTH_LOG_LEVEL).
	LogLevel string `yaml:"logLevel"`
	// Storage selects and configures the blob storage driver.
	Storage StorageConfig `yaml:"storage"`
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
	// Outbound says which internal addresses the server's own calls
	// (webhooks, replication endpoints, scanner adapters) may reach.
	Outbound OutboundConfig `yaml:"outbound"`
	// ShutdownTimeout bounds graceful shutdown (BERTH_SHUTDOWN_TIMEOUT).
	ShutdownTimeout time.Duration `yaml:"shutdownTimeout"`
	// HTTP bounds what clients can make the server hold open.
	HTTP HTTPConfig `yaml:"http"`
	// ExternalURL is the registry's URL as clients reach it, e.g.
	// https://registry.example.com; when set, a path auth.realm is made
	// absolute with it instead of each request's Host header
	// (BERTH_EXTERNAL_URL).
	ExternalURL string `yaml:"externalURL"`
	// DebugAddr, when set, serves Go's pprof profiles on this separate
	// address; keep it on loopback (BERTH_DEBUG_ADDR).
	DebugAddr string `yaml:"debugAddr"`
}

// HTTPConfig bounds what clients can make the server hold open.
type HTTPConfig struct {
	// ReadHeaderTimeout bounds the reading of a request's headers
	// (BERTH_HTTP_READ_HEADER_TIMEOUT, default 30s).
	ReadHeaderTimeout time.Duration `yaml:"readHeaderTimeout"`
	// BodyIdleTimeout cuts a request body that sends nothing for that long
	// and closes its connection; a slow body that keeps sending is not cut
	// (BERTH_HTTP_BODY_IDLE_TIMEOUT, default 60s, 0 = off).
	BodyIdleTimeout time.Duration `yaml:"bodyIdleTimeout"`
	// MaxAnonymousRequests caps requests without credentials (no
	// Authorization header, no session cookie) in flight at once; more
	// get 503 with Retry-After. Only with auth on, where clients send
	// credentials or tokens for anything but the ping, the token and the
	// login (BERTH_HTTP_MAX_ANONYMOUS_REQUESTS, default 256, 0 = no cap).
	MaxAnonymousRequests int `yaml:"maxAnonymousRequests"`
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
	return nil
}

// StorageConfig selects the storage driver.
type StorageConfig struct {
	// Driver is "fs" (default), "s3", "oss" or "memory" (BERTH_STORAGE_DRIVER).
	Driver string `yaml:"driver"`
	// FS configures the fs driver.
	FS FSConfig `yaml:"fs"`
	// S3 configures the s3 driver.
	S3 S3Config `yaml:"s3"`
	// OSS configures the oss driver.
	OSS OSSConfig `yaml:"oss"`
}

// S3Config configures the S3 driver (AWS S3 or an S3-compatible server).
type S3Config struct {
	// Bucket is required with driver s3 (BERTH_S3_BUCKET).
	Bucket string `yaml:"bucket"`
	// Region of the bucket; empty uses the AWS default chain (BERTH_S3_REGION).
	Region string `yaml:"region"`
	// Endpoint of an S3-compatible server, e.g. http://127.0.0.1:9000;
	// empty means AWS (BERTH_S3_ENDPOINT).
	Endpoint string `yaml:"endpoint"`
	// AccessKey and SecretKey are static credentials; both empty uses the
	// AWS default chain (BERTH_S3_ACCESS_KEY, BERTH_S3_SECRET_KEY).
	AccessKey string `yaml:"accessKey"`
	SecretKey string `yaml:"secretKey"`
	// RootDirectory is a key prefix for every object (BERTH_S3_ROOT).
	RootDirectory string `yaml:"rootDirectory"`
	// PartSize is the multipart part size in bytes, 0 = 8 MiB (BERTH_S3_PART_SIZE).
	PartSize int64 `yaml:"partSize"`
	// StorageClass of new objects (BERTH_S3_STORAGE_CLASS).
	StorageClass string `yaml:"storageClass"`
	// ServerSideEncryption is "", "AES256" or "aws:kms" (BERTH_S3_SSE).
	ServerSideEncryption string `yaml:"serverSideEncryption"`
	// KMSKeyID names the key for aws:kms (BERTH_S3_KMS_KEY_ID).
	KMSKeyID string `yaml:"kmsKeyID"`
	// RedirectExpiry, when positive, answers blob pulls with a redirect to
	// a presigned URL valid that long, e.g. "20m"; 0 streams blobs through
	// the registry (BERTH_S3_REDIRECT_EXPIRY).
	RedirectExpiry time.Duration `yaml:"redirectExpiry"`
	// MaxConcurrency is how many parts one upload sends at once, 0 = 2
	// (BERTH_S3_MAX_CONCURRENCY); MaxAttempts bounds each request's
	// attempts, 0 = 6 (BERTH_S3_MAX_ATTEMPTS).
	MaxConcurrency int `yaml:"maxConcurrency"`
	MaxAttempts    int `yaml:"maxAttempts"`
}

// OSSConfig configures the Aliyun OSS driver. The keys are those of
// Harbor's storage_service.oss section in harbor.yml.
type OSSConfig struct {
	// AccessKeyID and AccessKeySecret are required with driver oss
	// (BERTH_OSS_ACCESS_KEY_ID, BERTH_OSS_ACCESS_KEY_SECRET).
	AccessKeyID     string `yaml:"accesskeyid"`
	AccessKeySecret string `yaml:"accesskeysecret"`
	// Region of the bucket, e.g. cn-hangzhou or oss-cn-hangzhou; required
	// (BERTH_OSS_REGION).
	Region string `yaml:"region"`
	// Endpoint is a host name or an http:// or https:// URL; empty derives
	// oss-<region>[-internal].aliyuncs.com (BERTH_OSS_ENDPOINT).
	Endpoint string `yaml:"endpoint"`
	// Internal uses the region's internal endpoint when endpoint is empty
	// (BERTH_OSS_INTERNAL).
	Internal bool `yaml:"internal"`
	// Bucket is required with driver oss (BERTH_OSS_BUCKET).
	Bucket string `yaml:"bucket"`
	// Encrypt turns on server-side encryption: AES256, or KMS with
	// kmskeyid (BERTH_OSS_ENCRYPT).
	Encrypt bool `yaml:"encrypt"`
	// KMSKeyID names the KMS key of encrypt (BERTH_OSS_KMS_KEY_ID).
	KMSKeyID string `yaml:"kmskeyid"`
	// Secure selects https (default) or http for an endpoint without a
	// scheme (BERTH_OSS_SECURE).
	Secure *bool `yaml:"secure"`
	// ChunkSize is the multipart part size in bytes, 0 = 8 MiB
	// (BERTH_OSS_CHUNK_SIZE).
	ChunkSize int64 `yaml:"chunksize"`
	// RootDirectory is a key prefix for every object (BERTH_OSS_ROOT).
	RootDirectory string `yaml:"rootdirectory"`
	// RedirectExpiry, when positive, answers blob pulls with a redirect to
	// a presigned URL valid that long (at most 7 days), e.g. "20m"; 0
	// streams blobs through the registry (BERTH_OSS_REDIRECT_EXPIRY).
	RedirectExpiry time.Duration `yaml:"redirectExpiry"`
	// MaxConcurrency is how many parts one upload sends at once, 0 = 2
	// (BERTH_OSS_MAX_CONCURRENCY); MaxAttempts bounds each request's
	// attempts, 0 = 6 (BERTH_OSS_MAX_ATTEMPTS).
	MaxConcurrency int `yaml:"maxconcurrency"`
	MaxAttempts    int `yaml:"maxattempts"`
}

// AuthConfig configures users, projects, robots and the token service.
type AuthConfig struct {
	// Disabled runs the registry open, without any credentials: only for
	// throw-away set-ups (BERTH_AUTH_DISABLED).
	Disabled bool `yaml:"disabled"`
	// AdminPassword is the password of the "admin" system administrator,
	// set at every start (BERTH_ADMIN_PASSWORD). When empty on the first
	// start, a random one is generated and written to
	// <dataDir>/admin-password (mode 0600).
	AdminPassword string `yaml:"adminPassword"`
	// Service is the token audience and challenge service name
	// (BERTH_AUTH_SERVICE).
	Service string `yaml:"service"`
	// Realm is the token endpoint clients are sent to; a path is served by
	// this server and made absolute per request (BERTH_AUTH_REALM).
	Realm string `yaml:"realm"`
	// TokenLifetime is how long a token is valid (BERTH_TOKEN_LIFETIME):
	// the longest a token keeps working after its account is deleted,
	// disabled or loses a role, unless RecheckTokens is set.
	TokenLifetime time.Duration `yaml:"tokenLifetime"`
	// RecheckTokens makes every bearer-token request also need the rights
	// the token's account holds now (a store look-up per request), so
	// that a token loses at once what its account lost
	// (BERTH_RECHECK_TOKENS).
	RecheckTokens bool `yaml:"recheckTokens"`
	// TokenKey is a PEM file with the token signing key (RSA or ECDSA
	// P-256, PKCS#8, PKCS#1 or SEC 1); empty uses <dataDir>/token-key.pem,
	// generated on first start (BERTH_TOKEN_KEY).
	TokenKey string `yaml:"tokenKey"`
	// CreateProjectsOnPush lets a user's first push to a missing project
	// create it, with the user as its projectAdmin; otherwise such a push
	// is refused (BERTH_CREATE_PROJECTS_ON_PUSH).
	CreateProjectsOnPush bool `yaml:"createProjectsOnPush"`
	// LDAP, when its url is set, checks the logins local accounts do not
	// know against a directory.
	LDAP LDAPConfig `yaml:"ldap"`
	// OIDC, when its issuer is set, lets people sign in through an OpenID
	// Connect provider at /c/oidc/login.
	OIDC OIDCConfig `yaml:"oidc"`
	// SessionLifetime is how long a browser session (POST /c/login, OIDC
	// sign-in) lasts (BERTH_SESSION_LIFETIME). The key that signs session
	// cookies is generated into <dataDir>/session-key.
	SessionLifetime time.Duration `yaml:"sessionLifetime"`
	// SecureCookies marks session cookies Secure: set it whenever the
	// server is reached over HTTPS, as it should be (BERTH_SECURE_COOKIES).
	SecureCookies bool `yaml:"secureCookies"`
	// HashCost is the bcrypt cost of new passwords and secrets, 4 to 31
	// (BERTH_AUTH_HASH_COST, default 10). Lower only for tests.
	HashCost int `yaml:"hashCost"`
}

// OIDCConfig configures sign-in through an OpenID Connect provider (see
// auth/oidc.Config).
type OIDCConfig struct {
	// Issuer is the provider's issuer URL (BERTH_OIDC_ISSUER).
	Issuer string `yaml:"issuer"`
	// ClientID and ClientSecret are the registry's client at the provider
	// (BERTH_OIDC_CLIENT_ID, BERTH_OIDC_CLIENT_SECRET).
	ClientID     string `yaml:"clientID"`
	ClientSecret string `yaml:"clientSecret"`
	// RedirectURL is https://<this server>/c/oidc/callback, as registered
	// at the provider (BERTH_OIDC_REDIRECT_URL).
	RedirectURL string `yaml:"redirectURL"`
	// Scopes are asked besides openid; default profile, email
	// (BERTH_OIDC_SCOPES, comma-separated).
	Scopes []string `yaml:"scopes"`
	// UsernameClaim (default preferred_username), GroupsClaim and
	// AdminGroup map claims to accounts (BERTH_OIDC_USERNAME_CLAIM,
	// BERTH_OIDC_GROUPS_CLAIM, BERTH_OIDC_ADMIN_GROUP).
	UsernameClaim string `yaml:"usernameClaim"`
	GroupsClaim   string `yaml:"groupsClaim"`
	AdminGroup    string `yaml:"adminGroup"`
	// AutoOnboard creates the account of a person signing in for the
	// first time; when false an administrator must have created it
	// (BERTH_OIDC_AUTO_ONBOARD, default true).
	AutoOnboard *bool `yaml:"autoOnboard"`
}

// LDAPConfig configures the LDAP authenticator (see auth/ldap.Config).
type LDAPConfig struct {
	// URL is ldap://host:389 or ldaps://host:636 (BERTH_LDAP_URL).
	URL string `yaml:"url"`
	// StartTLS upgrades ldap:// (BERTH_LDAP_STARTTLS).
	StartTLS bool `yaml:"startTLS"`
	// BindDN and BindPassword are the search account
	// (BERTH_LDAP_BIND_DN, BERTH_LDAP_BIND_PASSWORD).
	BindDN       string `yaml:"bindDN"`
	BindPassword string `yaml:"bindPassword"`
	// BaseDN is where users are searched (BERTH_LDAP_BASE_DN).
	BaseDN string `yaml:"baseDN"`
	// UserFilter, e.g. "(uid=%s)" (BERTH_LDAP_USER_FILTER).
	UserFilter string `yaml:"userFilter"`
	// GroupBaseDN, GroupFilter ("(member=%s)") and GroupAttribute ("cn")
	// find the user's groups (BERTH_LDAP_GROUP_BASE_DN,
	// BERTH_LDAP_GROUP_FILTER, BERTH_LDAP_GROUP_ATTRIBUTE).
	GroupBaseDN    string `yaml:"groupBaseDN"`
	GroupFilter    string `yaml:"groupFilter"`
	GroupAttribute string `yaml:"groupAttribute"`
	// AdminGroup's members are system administrators
	// (BERTH_LDAP_ADMIN_GROUP).
	AdminGroup string `yaml:"adminGroup"`
}

// EventsConfig configures the event log, webhook deliveries and the audit
// log.
type EventsConfig struct {
	// PullSample is the share of pulls logged: 0 none (default), 1 all
	// (BERTH_PULL_EVENT_SAMPLE).
	PullSample float64 `yaml:"pullSample"`
	// ExternalHost is host[:port] as clients name the registry, for the
	// resource URLs of webhook payloads; default addr
	// (BERTH_EXTERNAL_HOST).
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
	// default 30s).
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

// OutboundConfig guards the server's outbound calls: webhook deliveries,
// replication endpoints and scanner adapters reach public addresses only
// (no loopback, private, link-local, cloud metadata or other internal
// address, checked on the address dialed), unless Allow lists them.
type OutboundConfig struct {
	// Allow lists the internal hosts (names), addresses and networks
	// (CIDR) outbound calls may reach, e.g. [10.0.0.0/8, trivy-adapter];
	// empty, the default, allows none (BERTH_OUTBOUND_ALLOW,
	// comma-separated).
	Allow []string `yaml:"allow"`
}

// guard is the outbound allow-list as a netguard.Guard.
func (c OutboundConfig) guard() (*netguard.Guard, error) {
	g, err := netguard.Parse(c.Allow...)
	if err != nil {
		return nil, fmt.Errorf("config: outbound.allow: %w", err)
	}
	return g, nil
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

// FSConfig configures the local-disk driver.
type FSConfig struct {
	// RootDirectory defaults to <dataDir>/storage (BERTH_STORAGE_FS_ROOT).
	RootDirectory string `yaml:"rootDirectory"`
	// NoSync turns fsync off: faster, loses data on power failure. Never in
	// production (BERTH_STORAGE_FS_NOSYNC).
	NoSync bool `yaml:"noSync"`
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
	// The example server has no authentication, so it defaults to true.
	AnonymousMount *bool `yaml:"anonymousMount"`
	// Deletes enables DELETE of blobs, manifests and tags (BERTH_DELETES).
	Deletes *bool `yaml:"deletes"`
}

func defaultConfig() Config {
	return Config{
		Addr:            "127.0.0.1:5000",
		DataDir:         "./data",
		LogLevel:        "info",
		Storage:         StorageConfig{Driver: "fs"},
		Registry:        RegistryConfig{MaxManifestSize: 4 << 20},
		Auth:            AuthConfig{Service: "berth-registry", Realm: "/service/token", TokenLifetime: 15 * time.Minute, HashCost: bcrypt.DefaultCost},
		Events:          EventsConfig{WebhookMaxAttempts: 10, WebhookBackoff: time.Second, WebhookMaxBackoff: 10 * time.Minute, WebhookConcurrency: 4, JobLease: 30 * time.Second, AuditPurgeSchedule: "0 30 3 * * *"},
		Replication:     ReplicationConfig{Concurrency: 4, TaskAttempts: 10, Backoff: 2 * time.Second, MaxBackoff: time.Minute},
		Scan:            ScanConfig{Concurrency: 2, Timeout: 30 * time.Minute, TokenLifetime: 30 * time.Minute},
		ShutdownTimeout: 30 * time.Second,
		HTTP:            HTTPConfig{ReadHeaderTimeout: 30 * time.Second, BodyIdleTimeout: time.Minute, MaxAnonymousRequests: 256},
	}
}

// loadConfig reads path (if not empty) over the defaults, then applies
// environment overrides, then validates. Errors name the offending key.
func loadConfig(path string, getenv func(string) string) (Config, error) {
	c := defaultConfig()
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
			return c, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := applyEnv(&c, getenv); err != nil {
		return c, err
	}
	return c, c.validate()
}

func applyEnv(c *Config, getenv func(string) string) error {
	str := func(key string, dst *string) {
		if v := getenv(key); v != "" {
			*dst = v
		}
	}
	var err error
	num := func(key string, dst *int64) {
		if v := getenv(key); v != "" && err == nil {
			n, perr := strconv.ParseInt(v, 10, 64)
			if perr != nil {
				err = fmt.Errorf("config: %s=%q is not an integer", key, v)
			}
			*dst = n
		}
	}
	num32 := func(key string, dst *int) {
		n := int64(*dst)
		num(key, &n)
		if n != int64(int32(n)) && err == nil {
			err = fmt.Errorf("config: %s=%d is out of range", key, n)
		}
		*dst = int(n)
	}
	flag := func(key string, dst *bool) {
		if v := getenv(key); v != "" && err == nil {
			b, perr := strconv.ParseBool(v)
			if perr != nil {
				err = fmt.Errorf("config: %s=%q is not a boolean", key, v)
			}
			*dst = b
		}
	}
	dur := func(key string, dst *time.Duration) {
		if v := getenv(key); v != "" && err == nil {
			d, perr := time.ParseDuration(v)
			if perr != nil {
				err = fmt.Errorf("config: %s=%q is not a duration", key, v)
			}
			*dst = d
		}
	}
	flt := func(key string, dst *float64) {
		if v := getenv(key); v != "" && err == nil {
			f, perr := strconv.ParseFloat(v, 64)
			if perr != nil {
				err = fmt.Errorf("config: %s=%q is not a number", key, v)
			}
			*dst = f
		}
	}
	optFlag := func(key string, dst **bool) {
		if v := getenv(key); v != "" && err == nil {
			b, perr := strconv.ParseBool(v)
			if perr != nil {
				err = fmt.Errorf("config: %s=%q is not a boolean", key, v)
			}
			*dst = &b
		}
	}
	str("BERTH_ADDR", &c.Addr)
	str("BERTH_DATA_DIR", &c.DataDir)
	str("BERTH_LOG_LEVEL", &c.LogLevel)
	str("BERTH_DEBUG_ADDR", &c.DebugAddr)
	str("BERTH_EXTERNAL_URL", &c.ExternalURL)
	dur("BERTH_HTTP_READ_HEADER_TIMEOUT", &c.HTTP.ReadHeaderTimeout)
	dur("BERTH_HTTP_BODY_IDLE_TIMEOUT", &c.HTTP.BodyIdleTimeout)
	num32("BERTH_HTTP_MAX_ANONYMOUS_REQUESTS", &c.HTTP.MaxAnonymousRequests)
	str("BERTH_STORAGE_DRIVER", &c.Storage.Driver)
	str("BERTH_STORAGE_FS_ROOT", &c.Storage.FS.RootDirectory)
	flag("BERTH_STORAGE_FS_NOSYNC", &c.Storage.FS.NoSync)
	str("BERTH_S3_BUCKET", &c.Storage.S3.Bucket)
	str("BERTH_S3_REGION", &c.Storage.S3.Region)
	str("BERTH_S3_ENDPOINT", &c.Storage.S3.Endpoint)
	str("BERTH_S3_ACCESS_KEY", &c.Storage.S3.AccessKey)
	str("BERTH_S3_SECRET_KEY", &c.Storage.S3.SecretKey)
	str("BERTH_S3_ROOT", &c.Storage.S3.RootDirectory)
	num("BERTH_S3_PART_SIZE", &c.Storage.S3.PartSize)
	str("BERTH_S3_STORAGE_CLASS", &c.Storage.S3.StorageClass)
	str("BERTH_S3_SSE", &c.Storage.S3.ServerSideEncryption)
	str("BERTH_S3_KMS_KEY_ID", &c.Storage.S3.KMSKeyID)
	num("BERTH_MAX_MANIFEST_SIZE", &c.Registry.MaxManifestSize)
	num("BERTH_MAX_BLOB_SIZE", &c.Registry.MaxBlobSize)
	flag("BERTH_SPARSE_MANIFESTS", &c.Registry.SparseManifests)
	optFlag("BERTH_ANONYMOUS_MOUNT", &c.Registry.AnonymousMount)
	optFlag("BERTH_DELETES", &c.Registry.Deletes)
	dur("BERTH_SHUTDOWN_TIMEOUT", &c.ShutdownTimeout)
	flag("BERTH_AUTH_DISABLED", &c.Auth.Disabled)
	str("BERTH_ADMIN_PASSWORD", &c.Auth.AdminPassword)
	str("BERTH_AUTH_SERVICE", &c.Auth.Service)
	str("BERTH_AUTH_REALM", &c.Auth.Realm)
	dur("BERTH_TOKEN_LIFETIME", &c.Auth.TokenLifetime)
	flag("BERTH_RECHECK_TOKENS", &c.Auth.RecheckTokens)
	str("BERTH_TOKEN_KEY", &c.Auth.TokenKey)
	flag("BERTH_CREATE_PROJECTS_ON_PUSH", &c.Auth.CreateProjectsOnPush)
	str("BERTH_LDAP_URL", &c.Auth.LDAP.URL)
	flag("BERTH_LDAP_STARTTLS", &c.Auth.LDAP.StartTLS)
	str("BERTH_LDAP_BIND_DN", &c.Auth.LDAP.BindDN)
	str("BERTH_LDAP_BIND_PASSWORD", &c.Auth.LDAP.BindPassword)
	str("BERTH_LDAP_BASE_DN", &c.Auth.LDAP.BaseDN)
	str("BERTH_LDAP_USER_FILTER", &c.Auth.LDAP.UserFilter)
	str("BERTH_LDAP_GROUP_BASE_DN", &c.Auth.LDAP.GroupBaseDN)
	str("BERTH_LDAP_GROUP_FILTER", &c.Auth.LDAP.GroupFilter)
	str("BERTH_LDAP_GROUP_ATTRIBUTE", &c.Auth.LDAP.GroupAttribute)
	str("BERTH_LDAP_ADMIN_GROUP", &c.Auth.LDAP.AdminGroup)
	str("BERTH_OIDC_ISSUER", &c.Auth.OIDC.Issuer)
	str("BERTH_OIDC_CLIENT_ID", &c.Auth.OIDC.ClientID)
	str("BERTH_OIDC_CLIENT_SECRET", &c.Auth.OIDC.ClientSecret)
	str("BERTH_OIDC_REDIRECT_URL", &c.Auth.OIDC.RedirectURL)
	if v := getenv("BERTH_OUTBOUND_ALLOW"); v != "" {
		c.Outbound.Allow = strings.Split(v, ",")
	}
	if v := getenv("BERTH_OIDC_SCOPES"); v != "" {
		c.Auth.OIDC.Scopes = strings.Split(v, ",")
	}
	str("BERTH_OIDC_USERNAME_CLAIM", &c.Auth.OIDC.UsernameClaim)
	str("BERTH_OIDC_GROUPS_CLAIM", &c.Auth.OIDC.GroupsClaim)
	str("BERTH_OIDC_ADMIN_GROUP", &c.Auth.OIDC.AdminGroup)
	optFlag("BERTH_OIDC_AUTO_ONBOARD", &c.Auth.OIDC.AutoOnboard)
	dur("BERTH_SESSION_LIFETIME", &c.Auth.SessionLifetime)
	flt("BERTH_PULL_EVENT_SAMPLE", &c.Events.PullSample)
	str("BERTH_EXTERNAL_HOST", &c.Events.ExternalHost)
	num32("BERTH_WEBHOOK_MAX_ATTEMPTS", &c.Events.WebhookMaxAttempts)
	dur("BERTH_WEBHOOK_BACKOFF", &c.Events.WebhookBackoff)
	dur("BERTH_WEBHOOK_MAX_BACKOFF", &c.Events.WebhookMaxBackoff)
	num32("BERTH_WEBHOOK_CONCURRENCY", &c.Events.WebhookConcurrency)
	dur("BERTH_JOB_LEASE", &c.Events.JobLease)
	dur("BERTH_AUDIT_RETENTION", &c.Events.AuditRetention)
	str("BERTH_AUDIT_PURGE_SCHEDULE", &c.Events.AuditPurgeSchedule)
	str("BERTH_AUDIT_SYSLOG", &c.Events.Syslog)
	num32("BERTH_REPLICATION_CONCURRENCY", &c.Replication.Concurrency)
	num32("BERTH_REPLICATION_TASK_ATTEMPTS", &c.Replication.TaskAttempts)
	dur("BERTH_REPLICATION_BACKOFF", &c.Replication.Backoff)
	dur("BERTH_REPLICATION_MAX_BACKOFF", &c.Replication.MaxBackoff)
	flag("BERTH_SECURE_COOKIES", &c.Auth.SecureCookies)
	num32("BERTH_AUTH_HASH_COST", &c.Auth.HashCost)
	str("BERTH_SCAN_OSV_DB", &c.Scan.OSVDB)
	optFlag("BERTH_SCAN_BUILTIN", &c.Scan.Builtin)
	flag("BERTH_SCAN_AUTO_SCAN", &c.Scan.AutoScan)
	num32("BERTH_SCAN_CONCURRENCY", &c.Scan.Concurrency)
	dur("BERTH_SCAN_TIMEOUT", &c.Scan.Timeout)
	str("BERTH_SCAN_REGISTRY_URL", &c.Scan.RegistryURL)
	dur("BERTH_SCAN_TOKEN_LIFETIME", &c.Scan.TokenLifetime)
	dur("BERTH_S3_REDIRECT_EXPIRY", &c.Storage.S3.RedirectExpiry)
	num32("BERTH_S3_MAX_CONCURRENCY", &c.Storage.S3.MaxConcurrency)
	num32("BERTH_S3_MAX_ATTEMPTS", &c.Storage.S3.MaxAttempts)
	str("BERTH_OSS_ACCESS_KEY_ID", &c.Storage.OSS.AccessKeyID)
	str("BERTH_OSS_ACCESS_KEY_SECRET", &c.Storage.OSS.AccessKeySecret)
	str("BERTH_OSS_REGION", &c.Storage.OSS.Region)
	str("BERTH_OSS_ENDPOINT", &c.Storage.OSS.Endpoint)
	flag("BERTH_OSS_INTERNAL", &c.Storage.OSS.Internal)
	str("BERTH_OSS_BUCKET", &c.Storage.OSS.Bucket)
	flag("BERTH_OSS_ENCRYPT", &c.Storage.OSS.Encrypt)
	str("BERTH_OSS_KMS_KEY_ID", &c.Storage.OSS.KMSKeyID)
	optFlag("BERTH_OSS_SECURE", &c.Storage.OSS.Secure)
	num("BERTH_OSS_CHUNK_SIZE", &c.Storage.OSS.ChunkSize)
	str("BERTH_OSS_ROOT", &c.Storage.OSS.RootDirectory)
	dur("BERTH_OSS_REDIRECT_EXPIRY", &c.Storage.OSS.RedirectExpiry)
	num32("BERTH_OSS_MAX_CONCURRENCY", &c.Storage.OSS.MaxConcurrency)
	num32("BERTH_OSS_MAX_ATTEMPTS", &c.Storage.OSS.MaxAttempts)
	return err
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

func (c Config) validate() error {
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
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("config: logLevel %q must be debug, info, warn or error", c.LogLevel)
	}
	if err := c.Auth.validate(c.Registry.AnonymousMount); err != nil {
		return err
	}
	if err := c.Events.validate(); err != nil {
		return err
	}
	if err := c.Replication.validate(); err != nil {
		return err
	}
	if err := c.Scan.validate(); err != nil {
		return err
	}
	if _, err := c.Outbound.guard(); err != nil {
		return err
	}
	switch c.Storage.Driver {
	case "fs", "memory":
	case "s3":
		return c.Storage.S3.validate()
	case "oss":
		return c.Storage.OSS.validate()
	default:
		return fmt.Errorf("config: storage.driver %q must be fs, s3, oss or memory", c.Storage.Driver)
	}
	return nil
}

// validate checks the s3 settings the example server can judge before any
// network call; the driver's own checks follow at start.
func (c S3Config) validate() error {
	switch {
	case c.Bucket == "":
		return errors.New("config: storage.s3.bucket must be set when storage.driver is s3")
	case (c.AccessKey == "") != (c.SecretKey == ""):
		return errors.New("config: storage.s3.accessKey and storage.s3.secretKey must be set together")
	case c.Endpoint != "" && !strings.HasPrefix(c.Endpoint, "http://") && !strings.HasPrefix(c.Endpoint, "https://"):
		return fmt.Errorf("config: storage.s3.endpoint %q must be an http:// or https:// URL", c.Endpoint)
	case c.PartSize != 0 && (c.PartSize < 5<<20 || c.PartSize > 5<<30):
		return fmt.Errorf("config: storage.s3.partSize %d must be 0 or between 5 MiB and 5 GiB", c.PartSize)
	case c.RedirectExpiry < 0:
		return fmt.Errorf("config: storage.s3.redirectExpiry %s must not be negative", c.RedirectExpiry)
	case c.MaxConcurrency < 0:
		return fmt.Errorf("config: storage.s3.maxConcurrency %d must not be negative", c.MaxConcurrency)
	case c.MaxAttempts < 0:
		return fmt.Errorf("config: storage.s3.maxAttempts %d must not be negative", c.MaxAttempts)
	}
	switch c.ServerSideEncryption {
	case "", "AES256", "aws:kms":
	default:
		return fmt.Errorf("config: storage.s3.serverSideEncryption %q must be empty, AES256 or aws:kms", c.ServerSideEncryption)
	}
	return nil
}

// validate checks the oss settings the example server can judge before any
// network call; the driver's own checks follow at start.
func (c OSSConfig) validate() error {
	switch {
	case c.Bucket == "":
		return errors.New("config: storage.oss.bucket must be set when storage.driver is oss")
	case c.Region == "":
		return errors.New("config: storage.oss.region must be set when storage.driver is oss")
	case c.AccessKeyID == "":
		return errors.New("config: storage.oss.accesskeyid must be set when storage.driver is oss")
	case c.AccessKeySecret == "":
		return errors.New("config: storage.oss.accesskeysecret must be set when storage.driver is oss")
	case strings.Contains(c.Endpoint, "://") && !strings.HasPrefix(c.Endpoint, "http://") && !strings.HasPrefix(c.Endpoint, "https://"):
		return fmt.Errorf("config: storage.oss.endpoint %q must be a host name or an http:// or https:// URL", c.Endpoint)
	case c.KMSKeyID != "" && !c.Encrypt:
		return errors.New("config: storage.oss.kmskeyid is set but storage.oss.encrypt is not")
	case c.ChunkSize != 0 && (c.ChunkSize < 100<<10 || c.ChunkSize > 5<<30):
		return fmt.Errorf("config: storage.oss.chunksize %d must be 0 or between 100 KiB and 5 GiB", c.ChunkSize)
	case c.RedirectExpiry < 0 || c.RedirectExpiry > 7*24*time.Hour:
		return fmt.Errorf("config: storage.oss.redirectExpiry %s must be between 0 and 7 days", c.RedirectExpiry)
	case c.MaxConcurrency < 0:
		return fmt.Errorf("config: storage.oss.maxconcurrency %d must not be negative", c.MaxConcurrency)
	case c.MaxAttempts < 0:
		return fmt.Errorf("config: storage.oss.maxattempts %d must not be negative", c.MaxAttempts)
	}
	return nil
}

// validate checks the auth settings; anonymousMount is the registry's
// setting, which would let anyone mount any blob by digest.
func (c AuthConfig) validate(anonymousMount *bool) error {
	if c.Disabled {
		return nil
	}
	switch {
	case anonymousMount != nil && *anonymousMount:
		return errors.New("config: registry.anonymousMount cannot be true with auth on: it would let anyone link any blob by digest")
	case c.AdminPassword != "" && (len(c.AdminPassword) < 8 || len(c.AdminPassword) > 72):
		return errors.New("config: auth.adminPassword must be 8 to 72 characters")
	case c.Service == "":
		return errors.New("config: auth.service must not be empty")
	case c.Realm == "" || (!strings.HasPrefix(c.Realm, "/") && !strings.HasPrefix(c.Realm, "http://") && !strings.HasPrefix(c.Realm, "https://")):
		return fmt.Errorf("config: auth.realm %q must be a path or an http(s) URL", c.Realm)
	case c.TokenLifetime < time.Minute || c.TokenLifetime > 24*time.Hour:
		return fmt.Errorf("config: auth.tokenLifetime %s must be between 1m and 24h", c.TokenLifetime)
	case c.HashCost < bcrypt.MinCost || c.HashCost > bcrypt.MaxCost:
		return fmt.Errorf("config: auth.hashCost %d must be between %d and %d", c.HashCost, bcrypt.MinCost, bcrypt.MaxCost)
	case c.SessionLifetime < 0 || c.SessionLifetime > 7*24*time.Hour:
		return fmt.Errorf("config: auth.sessionLifetime %s must be between 0 (8h) and 168h", c.SessionLifetime)
	}
	return nil
}

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
