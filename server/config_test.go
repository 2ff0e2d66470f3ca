package server

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/berthreg/berth/storage/oss"
)

// loadYAML reads text over DefaultConfig as a YAML file is read (unknown
// keys are errors), applies getenv's overrides and validates.
func loadYAML(text string, getenv func(string) string) (Config, error) {
	c := DefaultConfig()
	dec := yaml.NewDecoder(strings.NewReader(text))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return c, fmt.Errorf("config: %w", err)
	}
	if err := c.ApplyEnv(getenv); err != nil {
		return c, err
	}
	return c, c.Validate()
}

func TestBadConfigNamesTheKey(t *testing.T) {
	cases := map[string]struct {
		yaml string
		env  map[string]string
		key  string
	}{
		"unknown key":        {yaml: "adr: x\n", key: "adr"},
		"bad driver":         {yaml: "storage:\n  driver: tape\n", key: "storage.driver"},
		"bad size":           {yaml: "registry:\n  maxManifestSize: -1\n", key: "registry.maxManifestSize"},
		"bad log level":      {yaml: "logLevel: loud\n", key: "logLevel"},
		"bad env number":     {env: map[string]string{"BERTH_MAX_BLOB_SIZE": "big"}, key: "BERTH_MAX_BLOB_SIZE"},
		"bad env bool":       {env: map[string]string{"BERTH_DELETES": "perhaps"}, key: "BERTH_DELETES"},
		"s3 no bucket":       {yaml: "storage:\n  driver: s3\n", key: "storage.s3.bucket"},
		"s3 half creds":      {yaml: "storage:\n  driver: s3\n  s3:\n    bucket: b\n    accessKey: k\n", key: "storage.s3.secretKey"},
		"s3 endpoint":        {yaml: "storage:\n  driver: s3\n  s3:\n    bucket: b\n    endpoint: 127.0.0.1:9000\n", key: "storage.s3.endpoint"},
		"s3 part size":       {env: map[string]string{"BERTH_STORAGE_DRIVER": "s3", "BERTH_S3_BUCKET": "b", "BERTH_S3_PART_SIZE": "1024"}, key: "storage.s3.partSize"},
		"s3 redirect":        {yaml: "storage:\n  driver: s3\n  s3:\n    bucket: b\n    redirectExpiry: -5m\n", key: "storage.s3.redirectExpiry"},
		"s3 redirect env":    {env: map[string]string{"BERTH_STORAGE_DRIVER": "s3", "BERTH_S3_BUCKET": "b", "BERTH_S3_REDIRECT_EXPIRY": "soon"}, key: "BERTH_S3_REDIRECT_EXPIRY"},
		"s3 sse":             {yaml: "storage:\n  driver: s3\n  s3:\n    bucket: b\n    serverSideEncryption: rot13\n", key: "storage.s3.serverSideEncryption"},
		"s3 concurrency":     {yaml: "storage:\n  driver: s3\n  s3:\n    bucket: b\n    maxConcurrency: -2\n", key: "storage.s3.maxConcurrency"},
		"s3 attempts env":    {env: map[string]string{"BERTH_STORAGE_DRIVER": "s3", "BERTH_S3_BUCKET": "b", "BERTH_S3_MAX_ATTEMPTS": "99999999999"}, key: "BERTH_S3_MAX_ATTEMPTS"},
		"oss attempts":       {yaml: ossYAML("maxattempts", "-1"), key: "storage.oss.maxattempts"},
		"auth anon mount":    {yaml: "registry:\n  anonymousMount: true\n", key: "registry.anonymousMount"},
		"auth short pw":      {env: map[string]string{"BERTH_ADMIN_PASSWORD": "short"}, key: "auth.adminPassword"},
		"auth realm":         {yaml: "auth:\n  realm: ftp://x\n", key: "auth.realm"},
		"external url":       {yaml: "externalURL: registry.example.com\n", key: "externalURL"},
		"http header":        {yaml: "http:\n  readHeaderTimeout: 0s\n", key: "http.readHeaderTimeout"},
		"http body idle":     {env: map[string]string{"BERTH_HTTP_BODY_IDLE_TIMEOUT": "-1s"}, key: "http.bodyIdleTimeout"},
		"http body env":      {env: map[string]string{"BERTH_HTTP_BODY_IDLE_TIMEOUT": "soon"}, key: "BERTH_HTTP_BODY_IDLE_TIMEOUT"},
		"http anonymous":     {yaml: "http:\n  maxAnonymousRequests: -1\n", key: "http.maxAnonymousRequests"},
		"external url path":  {env: map[string]string{"BERTH_EXTERNAL_URL": "https://r.example.com/x?y"}, key: "externalURL"},
		"auth lifetime":      {yaml: "auth:\n  tokenLifetime: 10s\n", key: "auth.tokenLifetime"},
		"auth disabled env":  {env: map[string]string{"BERTH_AUTH_DISABLED": "maybe"}, key: "BERTH_AUTH_DISABLED"},
		"auth recheck env":   {env: map[string]string{"BERTH_RECHECK_TOKENS": "often"}, key: "BERTH_RECHECK_TOKENS"},
		"auth hash cost":     {yaml: "auth:\n  hashCost: 3\n", key: "auth.hashCost"},
		"oss no bucket":      {yaml: "storage:\n  driver: oss\n", key: "storage.oss.bucket"},
		"oss no region":      {yaml: "storage:\n  driver: oss\n  oss:\n    bucket: b\n", key: "storage.oss.region"},
		"oss no key id":      {yaml: ossYAML("accesskeyid", ""), key: "storage.oss.accesskeyid"},
		"oss no secret":      {env: map[string]string{"BERTH_STORAGE_DRIVER": "oss", "BERTH_OSS_BUCKET": "b", "BERTH_OSS_REGION": "cn-hangzhou", "BERTH_OSS_ACCESS_KEY_ID": "id"}, key: "storage.oss.accesskeysecret"},
		"oss s3 spelling":    {yaml: "storage:\n  driver: oss\n  oss:\n    accessKey: k\n", key: "accessKey"},
		"oss endpoint":       {yaml: ossYAML("endpoint", "ftp://oss.example.com"), key: "storage.oss.endpoint"},
		"oss kms key":        {yaml: ossYAML("kmskeyid", "key"), key: "storage.oss.kmskeyid"},
		"oss chunk size":     {yaml: ossYAML("chunksize", "102399"), key: "storage.oss.chunksize"},
		"oss chunk env":      {yaml: ossYAML("", ""), env: map[string]string{"BERTH_OSS_CHUNK_SIZE": "6G"}, key: "BERTH_OSS_CHUNK_SIZE"},
		"oss redirect":       {yaml: ossYAML("redirectExpiry", "169h"), key: "storage.oss.redirectExpiry"},
		"oss secure env":     {yaml: ossYAML("", ""), env: map[string]string{"BERTH_OSS_SECURE": "perhaps"}, key: "BERTH_OSS_SECURE"},
		"repl concurrency":   {yaml: "replication:\n  concurrency: 0\n", key: "replication.concurrency"},
		"repl attempts env":  {env: map[string]string{"BERTH_REPLICATION_TASK_ATTEMPTS": "0"}, key: "replication.taskAttempts"},
		"repl backoff":       {yaml: "replication:\n  backoff: 2m\n  maxBackoff: 1m\n", key: "replication.backoff"},
		"metadata driver":    {yaml: "metadata:\n  driver: sqlite\n", key: "metadata.driver"},
		"metadata no dsn":    {env: map[string]string{"BERTH_METADATA_DRIVER": "postgres"}, key: "metadata.postgres.dsn"},
		"metadata pg bolt":   {yaml: "metadata:\n  postgres:\n    dsn: postgres://x\n", key: "metadata.postgres"},
		"metadata min max":   {yaml: "metadata:\n  driver: postgres\n  postgres:\n    dsn: postgres://x\n    maxConns: 2\n    minConns: 3\n", key: "metadata.postgres.minConns"},
		"metadata timeout":   {env: map[string]string{"BERTH_METADATA_DRIVER": "postgres", "BERTH_METADATA_POSTGRES_DSN": "postgres://x", "BERTH_METADATA_POSTGRES_STATEMENT_TIMEOUT": "-1s"}, key: "metadata.postgres.statementTimeout"},
		"metadata conns env": {env: map[string]string{"BERTH_METADATA_POSTGRES_MAX_CONNS": "many"}, key: "BERTH_METADATA_POSTGRES_MAX_CONNS"},
		"metadata refresh":   {yaml: "metadata:\n  refresh: 0s\n", key: "metadata.refresh"},
		"metadata refresh h": {env: map[string]string{"BERTH_METADATA_REFRESH": "1h"}, key: "metadata.refresh"},
		"refresh env":        {env: map[string]string{"BERTH_METADATA_REFRESH": "often"}, key: "BERTH_METADATA_REFRESH"},
		"outbound cidr":      {yaml: "outbound:\n  allow: [10.0.0.0/33]\n", key: "outbound.allow"},
		"outbound env":       {env: map[string]string{"BERTH_OUTBOUND_ALLOW": "127.0.0.0/8,not a host"}, key: "outbound.allow"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := loadYAML(c.yaml, func(k string) string { return c.env[k] })
			if err == nil || !strings.Contains(err.Error(), c.key) {
				t.Fatalf("error %v does not name %s", err, c.key)
			}
		})
	}
}

// ossYAML is a complete oss configuration with key set to value (no key
// when key is "", the key removed when value is "").
func ossYAML(key, value string) string {
	settings := [][2]string{
		{"accesskeyid", "id"}, {"accesskeysecret", "secret"}, {"region", "cn-hangzhou"}, {"bucket", "b"},
	}
	var b strings.Builder
	b.WriteString("storage:\n  driver: oss\n  oss:\n")
	found := false
	for _, kv := range settings {
		if kv[0] == key {
			found = true
			if value == "" {
				continue
			}
			kv[1] = value
		}
		b.WriteString("    " + kv[0] + ": " + kv[1] + "\n")
	}
	if !found && key != "" {
		b.WriteString("    " + key + ": " + value + "\n")
	}
	return b.String()
}

// TestOSSConfigHarborKeys reads a storage_service.oss section written as
// in harbor.yml, with environment overrides on top.
func TestOSSConfigHarborKeys(t *testing.T) {
	text := `storage:
  driver: oss
  oss:
    accesskeyid: id
    accesskeysecret: secret
    region: oss-cn-beijing
    endpoint: registry-blobs.example.com
    internal: true
    bucket: berth
    encrypt: true
    secure: false
    chunksize: 10485760
    rootdirectory: /registry
    redirectExpiry: 20m
`
	env := map[string]string{"BERTH_OSS_BUCKET": "other", "BERTH_OSS_KMS_KEY_ID": "kms"}
	c, err := loadYAML(text, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	o := c.Storage.OSS
	if o.AccessKeyID != "id" || o.AccessKeySecret != "secret" || o.Region != "oss-cn-beijing" ||
		o.Endpoint != "registry-blobs.example.com" || !o.Internal || o.Bucket != "other" || !o.Encrypt ||
		o.EncryptionKMSKeyID != "kms" || o.Secure == nil || *o.Secure || o.ChunkSize != 10<<20 ||
		o.RootDirectory != "/registry" || o.RedirectExpiry != 20*time.Minute {
		t.Fatalf("oss config %+v", o)
	}
}

// TestOSSDriverErrorsNameTheKey checks that what only the driver judges
// fails at start, named.
func TestOSSDriverErrorsNameTheKey(t *testing.T) {
	c := DefaultConfig()
	c.DataDir = t.TempDir()
	c.Storage = StorageConfig{Driver: "oss", OSS: oss.Config{
		AccessKeyID: "id", AccessKeySecret: "secret", Region: "cn hangzhou", Bucket: "berth",
	}}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	_, err := New(t.Context(), c)
	if err == nil || !strings.Contains(err.Error(), "storage.oss") || !strings.Contains(err.Error(), "Region") {
		t.Fatalf("build with a bad region: %v", err)
	}
}
