package server

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/berthreg/berth/ratelimit"
)

// ApplyEnv overrides c's settings with the BERTH_* variables getenv
// returns (os.Getenv, usually); an empty value changes nothing. Each
// field's documentation names its variable. An error names the variable
// whose value does not parse; ApplyEnv does not validate the result.
func (c *Config) ApplyEnv(getenv func(string) string) error {
	e := envReader{getenv: getenv}
	e.str("BERTH_ADDR", &c.Addr)
	e.str("BERTH_DATA_DIR", &c.DataDir)
	e.str("BERTH_LOG_LEVEL", &c.LogLevel)
	e.str("BERTH_DEBUG_ADDR", &c.DebugAddr)
	e.str("BERTH_EXTERNAL_URL", &c.ExternalURL)
	e.str("BERTH_TLS_CERT_FILE", &c.TLS.CertFile)
	e.str("BERTH_TLS_KEY_FILE", &c.TLS.KeyFile)
	e.str("BERTH_TLS_CLIENT_CA", &c.TLS.ClientCA)
	e.str("BERTH_METRICS_TOKEN", &c.Metrics.Token)
	e.flag("BERTH_METRICS_HTTP_OFF", &c.Metrics.HTTPOff)
	e.flag("BERTH_PORTAL_OFF", &c.Portal.Off)
	e.str("BERTH_TRACING_ENDPOINT", &c.Tracing.Endpoint)
	e.flt("BERTH_TRACING_SAMPLE_RATIO", &c.Tracing.SampleRatio)
	e.str("BERTH_TRACING_SERVICE_NAME", &c.Tracing.ServiceName)
	e.dur("BERTH_HTTP_READ_HEADER_TIMEOUT", &c.HTTP.ReadHeaderTimeout)
	e.dur("BERTH_HTTP_BODY_IDLE_TIMEOUT", &c.HTTP.BodyIdleTimeout)
	e.num32("BERTH_HTTP_MAX_ANONYMOUS_REQUESTS", &c.HTTP.MaxAnonymousRequests)
	e.list("BERTH_HTTP_TRUSTED_PROXIES", &c.HTTP.TrustedProxies)
	e.rateLimits("BERTH_HTTP_RATE_LIMITS", &c.HTTP.RateLimits)
	e.str("BERTH_STORAGE_DRIVER", &c.Storage.Driver)
	e.str("BERTH_METADATA_DRIVER", &c.Metadata.Driver)
	pg := &c.Metadata.Postgres
	e.str("BERTH_METADATA_POSTGRES_DSN", &pg.DSN)
	e.num32("BERTH_METADATA_POSTGRES_MAX_CONNS", &pg.MaxConns)
	e.num32("BERTH_METADATA_POSTGRES_MIN_CONNS", &pg.MinConns)
	e.dur("BERTH_METADATA_POSTGRES_STATEMENT_TIMEOUT", &pg.StatementTimeout)
	e.dur("BERTH_METADATA_POSTGRES_ACQUIRE_TIMEOUT", &pg.AcquireTimeout)
	e.optFlag("BERTH_METADATA_POSTGRES_READ_CACHE", &pg.ReadCache)
	e.dur("BERTH_METADATA_REFRESH", &c.Metadata.Refresh)
	e.str("BERTH_STORAGE_FS_ROOT", &c.Storage.FS.RootDirectory)
	e.flag("BERTH_STORAGE_FS_NOSYNC", &c.Storage.FS.NoSync)
	s3 := &c.Storage.S3
	e.str("BERTH_S3_BUCKET", &s3.Bucket)
	e.str("BERTH_S3_REGION", &s3.Region)
	e.str("BERTH_S3_ENDPOINT", &s3.Endpoint)
	e.str("BERTH_S3_ACCESS_KEY", &s3.AccessKey)
	e.str("BERTH_S3_SECRET_KEY", &s3.SecretKey)
	e.str("BERTH_S3_ROOT", &s3.RootDirectory)
	e.num("BERTH_S3_PART_SIZE", &s3.PartSize)
	e.str("BERTH_S3_STORAGE_CLASS", &s3.StorageClass)
	e.str("BERTH_S3_SSE", &s3.ServerSideEncryption)
	e.str("BERTH_S3_KMS_KEY_ID", &s3.KMSKeyID)
	e.num("BERTH_MAX_MANIFEST_SIZE", &c.Registry.MaxManifestSize)
	e.num("BERTH_MAX_BLOB_SIZE", &c.Registry.MaxBlobSize)
	e.flag("BERTH_SPARSE_MANIFESTS", &c.Registry.SparseManifests)
	e.optFlag("BERTH_ANONYMOUS_MOUNT", &c.Registry.AnonymousMount)
	e.optFlag("BERTH_DELETES", &c.Registry.Deletes)
	e.dur("BERTH_SHUTDOWN_TIMEOUT", &c.ShutdownTimeout)
	e.flag("BERTH_AUTH_DISABLED", &c.Auth.Disabled)
	e.str("BERTH_ADMIN_PASSWORD", &c.Auth.AdminPassword)
	e.str("BERTH_AUTH_SERVICE", &c.Auth.Service)
	e.str("BERTH_AUTH_REALM", &c.Auth.Realm)
	e.dur("BERTH_TOKEN_LIFETIME", &c.Auth.TokenLifetime)
	e.flag("BERTH_RECHECK_TOKENS", &c.Auth.RecheckTokens)
	e.str("BERTH_TOKEN_KEY", &c.Auth.TokenKey)
	e.flag("BERTH_CREATE_PROJECTS_ON_PUSH", &c.Auth.CreateProjectsOnPush)
	ldap := &c.Auth.LDAP
	e.str("BERTH_LDAP_URL", &ldap.URL)
	e.flag("BERTH_LDAP_STARTTLS", &ldap.StartTLS)
	e.str("BERTH_LDAP_BIND_DN", &ldap.BindDN)
	e.str("BERTH_LDAP_BIND_PASSWORD", &ldap.BindPassword)
	e.str("BERTH_LDAP_BASE_DN", &ldap.BaseDN)
	e.str("BERTH_LDAP_USER_FILTER", &ldap.UserFilter)
	e.str("BERTH_LDAP_GROUP_BASE_DN", &ldap.GroupBaseDN)
	e.str("BERTH_LDAP_GROUP_FILTER", &ldap.GroupFilter)
	e.str("BERTH_LDAP_GROUP_ATTRIBUTE", &ldap.GroupAttribute)
	e.str("BERTH_LDAP_ADMIN_GROUP", &ldap.AdminGroup)
	oidc := &c.Auth.OIDC
	e.str("BERTH_OIDC_ISSUER", &oidc.Issuer)
	e.str("BERTH_OIDC_CLIENT_ID", &oidc.ClientID)
	e.str("BERTH_OIDC_CLIENT_SECRET", &oidc.ClientSecret)
	e.str("BERTH_OIDC_REDIRECT_URL", &oidc.RedirectURL)
	e.list("BERTH_OUTBOUND_ALLOW", &c.Outbound.Allow)
	e.list("BERTH_OIDC_SCOPES", &oidc.Scopes)
	e.str("BERTH_OIDC_USERNAME_CLAIM", &oidc.UsernameClaim)
	e.str("BERTH_OIDC_GROUPS_CLAIM", &oidc.GroupsClaim)
	e.str("BERTH_OIDC_ADMIN_GROUP", &oidc.AdminGroup)
	e.optFlag("BERTH_OIDC_AUTO_ONBOARD", &oidc.AutoOnboard)
	e.dur("BERTH_SESSION_LIFETIME", &c.Auth.SessionLifetime)
	e.str("BERTH_SESSION_KEY", &c.Auth.SessionKey)
	ev := &c.Events
	e.flt("BERTH_PULL_EVENT_SAMPLE", &ev.PullSample)
	e.str("BERTH_EXTERNAL_HOST", &ev.ExternalHost)
	e.num32("BERTH_WEBHOOK_MAX_ATTEMPTS", &ev.WebhookMaxAttempts)
	e.dur("BERTH_WEBHOOK_BACKOFF", &ev.WebhookBackoff)
	e.dur("BERTH_WEBHOOK_MAX_BACKOFF", &ev.WebhookMaxBackoff)
	e.num32("BERTH_WEBHOOK_CONCURRENCY", &ev.WebhookConcurrency)
	e.dur("BERTH_JOB_LEASE", &ev.JobLease)
	e.dur("BERTH_AUDIT_RETENTION", &ev.AuditRetention)
	e.str("BERTH_AUDIT_PURGE_SCHEDULE", &ev.AuditPurgeSchedule)
	e.str("BERTH_AUDIT_SYSLOG", &ev.Syslog)
	e.num32("BERTH_REPLICATION_CONCURRENCY", &c.Replication.Concurrency)
	e.num32("BERTH_REPLICATION_TASK_ATTEMPTS", &c.Replication.TaskAttempts)
	e.dur("BERTH_REPLICATION_BACKOFF", &c.Replication.Backoff)
	e.dur("BERTH_REPLICATION_MAX_BACKOFF", &c.Replication.MaxBackoff)
	e.flag("BERTH_SECURE_COOKIES", &c.Auth.SecureCookies)
	e.num32("BERTH_AUTH_HASH_COST", &c.Auth.HashCost)
	e.optFlag("BERTH_QUOTA_ENABLED", &c.Quota.Enabled)
	e.num("BERTH_QUOTA_DEFAULT_LIMIT", &c.Quota.DefaultLimit)
	e.num32("BERTH_QUOTA_WARN_AT", &c.Quota.WarnAt)
	e.str("BERTH_QUOTA_RECOMPUTE_SCHEDULE", &c.Quota.RecomputeSchedule)
	e.str("BERTH_TRUST_TRUSTED_ROOT", &c.Trust.TrustedRoot)
	e.pairs("BERTH_PROXY_MIRRORS", &c.Proxy.Mirrors)
	e.str("BERTH_PROXY_DEFAULT_MIRROR", &c.Proxy.DefaultMirror)
	e.dur("BERTH_PROXY_EXPIRE_AFTER", &c.Proxy.ExpireAfter)
	e.str("BERTH_PROXY_EXPIRE_SCHEDULE", &c.Proxy.ExpireSchedule)
	e.num32("BERTH_PROXY_UPSTREAM_FETCHES", &c.Proxy.UpstreamFetches)
	e.num32("BERTH_PROXY_UPSTREAM_BANDWIDTH", &c.Proxy.UpstreamBandwidth)
	sc := &c.Scan
	e.str("BERTH_SCAN_OSV_DB", &sc.OSVDB)
	e.optFlag("BERTH_SCAN_BUILTIN", &sc.Builtin)
	e.flag("BERTH_SCAN_AUTO_SCAN", &sc.AutoScan)
	e.num32("BERTH_SCAN_CONCURRENCY", &sc.Concurrency)
	e.dur("BERTH_SCAN_TIMEOUT", &sc.Timeout)
	e.str("BERTH_SCAN_REGISTRY_URL", &sc.RegistryURL)
	e.dur("BERTH_SCAN_TOKEN_LIFETIME", &sc.TokenLifetime)
	e.dur("BERTH_S3_REDIRECT_EXPIRY", &s3.RedirectExpiry)
	e.num32("BERTH_S3_MAX_CONCURRENCY", &s3.MaxConcurrency)
	e.num32("BERTH_S3_MAX_ATTEMPTS", &s3.MaxAttempts)
	oss := &c.Storage.OSS
	e.str("BERTH_OSS_ACCESS_KEY_ID", &oss.AccessKeyID)
	e.str("BERTH_OSS_ACCESS_KEY_SECRET", &oss.AccessKeySecret)
	e.str("BERTH_OSS_REGION", &oss.Region)
	e.str("BERTH_OSS_ENDPOINT", &oss.Endpoint)
	e.flag("BERTH_OSS_INTERNAL", &oss.Internal)
	e.str("BERTH_OSS_BUCKET", &oss.Bucket)
	e.flag("BERTH_OSS_ENCRYPT", &oss.Encrypt)
	e.str("BERTH_OSS_KMS_KEY_ID", &oss.EncryptionKMSKeyID)
	e.optFlag("BERTH_OSS_SECURE", &oss.Secure)
	e.num("BERTH_OSS_CHUNK_SIZE", &oss.ChunkSize)
	e.str("BERTH_OSS_ROOT", &oss.RootDirectory)
	e.dur("BERTH_OSS_REDIRECT_EXPIRY", &oss.RedirectExpiry)
	e.num32("BERTH_OSS_MAX_CONCURRENCY", &oss.MaxConcurrency)
	e.num32("BERTH_OSS_MAX_ATTEMPTS", &oss.MaxAttempts)
	return e.err
}

// envReader reads typed environment variables, keeping the first error.
type envReader struct {
	getenv func(string) string
	err    error
}

// value is key's value, or "" once an error is kept.
func (e *envReader) value(key string) string {
	if e.err != nil {
		return ""
	}
	return e.getenv(key)
}

func (e *envReader) str(key string, dst *string) {
	if v := e.getenv(key); v != "" {
		*dst = v
	}
}

func (e *envReader) list(key string, dst *[]string) {
	if v := e.getenv(key); v != "" {
		*dst = strings.Split(v, ",")
	}
}

// rateLimits reads ratelimit.ParseRules' form.
func (e *envReader) rateLimits(key string, dst *[]ratelimit.Rule) {
	v := e.value(key)
	if v == "" {
		return
	}
	rules, err := ratelimit.ParseRules(v)
	if err != nil {
		e.err = fmt.Errorf("config: %s: %w", key, err)
		return
	}
	*dst = rules
}

// pairs reads "k1=v1,k2=v2" into a map.
func (e *envReader) pairs(key string, dst *map[string]string) {
	v := e.value(key)
	if v == "" {
		return
	}
	out := map[string]string{}
	for _, kv := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(kv, "=")
		if !ok || k == "" || val == "" {
			e.err = fmt.Errorf("config: %s: %q is not key=value", key, kv)
			return
		}
		out[k] = val
	}
	*dst = out
}

func (e *envReader) num(key string, dst *int64) {
	if v := e.value(key); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			e.err = fmt.Errorf("config: %s=%q is not an integer", key, v)
		}
		*dst = n
	}
}

func (e *envReader) num32(key string, dst *int) {
	n := int64(*dst)
	e.num(key, &n)
	if n != int64(int32(n)) && e.err == nil {
		e.err = fmt.Errorf("config: %s=%d is out of range", key, n)
	}
	*dst = int(n)
}

func (e *envReader) flag(key string, dst *bool) {
	if v := e.value(key); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			e.err = fmt.Errorf("config: %s=%q is not a boolean", key, v)
		}
		*dst = b
	}
}

func (e *envReader) optFlag(key string, dst **bool) {
	if v := e.value(key); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			e.err = fmt.Errorf("config: %s=%q is not a boolean", key, v)
		}
		*dst = &b
	}
}

func (e *envReader) dur(key string, dst *time.Duration) {
	if v := e.value(key); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			e.err = fmt.Errorf("config: %s=%q is not a duration", key, v)
		}
		*dst = d
	}
}

func (e *envReader) flt(key string, dst *float64) {
	if v := e.value(key); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			e.err = fmt.Errorf("config: %s=%q is not a number", key, v)
		}
		*dst = f
	}
}
