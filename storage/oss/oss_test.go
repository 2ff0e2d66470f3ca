package oss

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"

	"github.com/berthreg/berth/storage"
	"github.com/berthreg/berth/storage/objectstore"
	"github.com/berthreg/berth/storage/objectstore/objectstoretest"
)

// minioMinPart is MinIO's smallest part but the last (S3's 5 MiB), above
// OSS's 100 KiB: the driver under test uses it as its MinPartSize.
const minioMinPart = 5 << 20

// testConfig returns the configuration of the MinIO bucket named by the
// BERTH_S3_* variables (see minio_test.go for how the OSS SDK reaches it).
// Without them the test fails, or skips under -short.
func testConfig(t *testing.T) Config {
	t.Helper()
	endpoint := os.Getenv("BERTH_S3_ENDPOINT")
	if endpoint == "" {
		if testing.Short() {
			t.Skip("BERTH_S3_ENDPOINT is unset; skipped with -short")
		}
		t.Fatal("BERTH_S3_ENDPOINT is unset: these tests need an S3 server. " +
			"Run them with a throw-away MinIO: scripts/minio.sh -- go test ./storage/oss")
	}
	return Config{
		Endpoint:        endpoint,
		Region:          os.Getenv("BERTH_S3_REGION"),
		Bucket:          os.Getenv("BERTH_S3_BUCKET"),
		AccessKeyID:     os.Getenv("BERTH_S3_ACCESS_KEY"),
		AccessKeySecret: os.Getenv("BERTH_S3_SECRET_KEY"),
	}
}

// forMinIO raises the part minimum to MinIO's, then applies tune.
func forMinIO(tune func(*objectstore.Options)) func(*objectstore.Options) {
	return func(o *objectstore.Options) {
		o.MinPartSize = minioMinPart
		if tune != nil {
			tune(o)
		}
	}
}

// newTestDriver builds the driver objectstoretest asks for, with MinIO's
// part minimum.
func newTestDriver(t *testing.T, s objectstoretest.Setup) *objectstore.Driver {
	t.Helper()
	cfg := testConfig(t)
	if s.Endpoint != "" {
		cfg.Endpoint = s.Endpoint
	}
	cfg.RootDirectory = s.Root
	b, o, err := newBucket(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.Options = forMinIO(s.Options)
	return s.Driver(t, b, o)
}

// TestObjectStore runs the object-store adapter suite (storagetest.Run
// included) against MinIO through the OSS SDK.
func TestObjectStore(t *testing.T) {
	cfg := testConfig(t)
	start := time.Now()
	objectstoretest.Run(t, cfg.Endpoint, newTestDriver)
	t.Logf("suite against %s took %v", cfg.Endpoint, time.Since(start).Round(time.Millisecond))
}

func TestConfigValidation(t *testing.T) {
	ok := Config{AccessKeyID: "id", AccessKeySecret: "secret", Region: "cn-hangzhou", Bucket: "berth"}
	no := false
	yes := true
	tests := []struct {
		field  string
		change func(*Config)
	}{
		{"AccessKeyID", func(c *Config) { c.AccessKeyID = "" }},
		{"AccessKeySecret", func(c *Config) { c.AccessKeySecret = "" }},
		{"Region", func(c *Config) { c.Region = "" }},
		{"Region", func(c *Config) { c.Region = "oss-" }},
		{"Region", func(c *Config) { c.Region = "cn hangzhou" }},
		{"Region", func(c *Config) { c.Region = "CN-Hangzhou" }},
		{"Bucket", func(c *Config) { c.Bucket = "" }},
		{"Bucket", func(c *Config) { c.Bucket = "Berth_Bucket" }},
		{"Bucket", func(c *Config) { c.Bucket = "-berth" }},
		{"Endpoint", func(c *Config) { c.Endpoint = "ftp://oss.example.com" }},
		{"Endpoint", func(c *Config) { c.Endpoint = "oss.example.com/path" }},
		{"Endpoint", func(c *Config) { c.Endpoint = "https://oss.example.com/path" }},
		{"Endpoint", func(c *Config) { c.Endpoint = "https://oss.example.com?x=1" }},
		{"Endpoint", func(c *Config) { c.Endpoint = "https://user@oss.example.com" }},
		{"Endpoint", func(c *Config) { c.Endpoint = "http://" }},
		{"Endpoint", func(c *Config) { c.Endpoint = "http://[::1" }},
		{"Secure", func(c *Config) { c.Endpoint, c.Secure = "https://oss.example.com", &no }},
		{"Secure", func(c *Config) { c.Endpoint, c.Secure = "http://127.0.0.1:9000", &yes }},
		{"EncryptionKMSKeyID", func(c *Config) { c.EncryptionKMSKeyID = "key" }},
		{"RootDirectory", func(c *Config) { c.RootDirectory = "a/../b" }},
		{"RootDirectory", func(c *Config) { c.RootDirectory = "a//b" }},
		{"ChunkSize", func(c *Config) { c.ChunkSize = MinChunkSize - 1 }},
		{"ChunkSize", func(c *Config) { c.ChunkSize = -1 }},
		{"ChunkSize", func(c *Config) { c.ChunkSize = MaxChunkSize + 1 }},
		{"RedirectExpiry", func(c *Config) { c.RedirectExpiry = -time.Second }},
		{"RedirectExpiry", func(c *Config) { c.RedirectExpiry = MaxRedirectExpiry + time.Second }},
		{"MaxAttempts", func(c *Config) { c.MaxAttempts = -1 }},
		{"MaxConcurrency", func(c *Config) { c.MaxConcurrency = -1 }},
	}
	for _, tc := range tests {
		cfg := ok
		tc.change(&cfg)
		_, err := New(t.Context(), cfg)
		if err == nil || !strings.HasPrefix(err.Error(), "oss: "+tc.field+": ") {
			t.Errorf("New with a bad %s (%+v): error %v, want one starting \"oss: %s: \"", tc.field, cfg, err, tc.field)
		}
	}

	b, opts, err := newBucket(t.Context(), Config{
		AccessKeyID: "id", AccessKeySecret: "secret", Region: "oss-cn-beijing", Bucket: "berth",
		RootDirectory: "/reg/istry/", Encrypt: true, EncryptionKMSKeyID: "kms-key",
	})
	if err != nil {
		t.Fatalf("New with a valid config: %v", err)
	}
	d, err := objectstore.New(b, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := objectstore.Options{
		Name: "oss", RootDirectory: "/reg/istry/", PartSize: DefaultChunkSize,
		MinPartSize: 100 << 10, MaxPartSize: 5 << 30, MaxParts: 10000, MaxCopySize: 1 << 30, Concurrency: 2,
	}
	if opts != want {
		t.Fatalf("options %+v, want %+v", opts, want)
	}
	if got := d.Key("blobs/x"); got != "reg/istry/blobs/x" {
		t.Fatalf("key = %q", got)
	}
	if b.sse != "KMS" || oss.ToString(b.kmsKeyID) != "kms-key" || b.name != "berth" {
		t.Fatalf("bucket settings: %q %q %q", b.name, b.sse, oss.ToString(b.kmsKeyID))
	}
	b, opts, err = newBucket(t.Context(), Config{
		AccessKeyID: "id", AccessKeySecret: "secret", Region: "cn-beijing", Bucket: "berth",
		Encrypt: true, ChunkSize: MinChunkSize, RedirectExpiry: MaxRedirectExpiry,
	})
	if err != nil {
		t.Fatalf("New with a valid config: %v", err)
	}
	if b.sse != "AES256" || b.kmsKeyID != nil || opts.PartSize != MinChunkSize || opts.RedirectExpiry != MaxRedirectExpiry {
		t.Fatalf("encryption %q %v, options %+v", b.sse, b.kmsKeyID, opts)
	}
}

func TestEndpoint(t *testing.T) {
	no, yes := false, true
	tests := []struct {
		region   string
		endpoint string
		internal bool
		secure   *bool
		want     string
	}{
		{"cn-hangzhou", "", false, nil, "https://oss-cn-hangzhou.aliyuncs.com"},
		{"oss-cn-hangzhou", "", false, nil, "https://oss-cn-hangzhou.aliyuncs.com"},
		{"cn-hangzhou", "", true, nil, "https://oss-cn-hangzhou-internal.aliyuncs.com"},
		{"oss-cn-shanghai", "", true, &no, "http://oss-cn-shanghai-internal.aliyuncs.com"},
		{"cn-shanghai", "", false, &no, "http://oss-cn-shanghai.aliyuncs.com"},
		{"cn-shanghai", "", false, &yes, "https://oss-cn-shanghai.aliyuncs.com"},
		{"ap-southeast-1", "oss-ap-southeast-1.aliyuncs.com", true, nil, "https://oss-ap-southeast-1.aliyuncs.com"},
		{"cn-hangzhou", "registry-blobs.example.com", false, &no, "http://registry-blobs.example.com"},
		{"cn-hangzhou", "registry-blobs.example.com:8443", false, nil, "https://registry-blobs.example.com:8443"},
		{"us-east-1", "http://127.0.0.1:9000", true, nil, "http://127.0.0.1:9000"},
		{"us-east-1", "http://127.0.0.1:9000/", false, &no, "http://127.0.0.1:9000"},
		{"us-east-1", "https://[::1]:9000", false, &yes, "https://[::1]:9000"},
	}
	for _, tc := range tests {
		cfg := Config{
			AccessKeyID: "id", AccessKeySecret: "secret", Bucket: "berth",
			Region: tc.region, Endpoint: tc.endpoint, Internal: tc.internal, Secure: tc.secure,
		}
		v, err := cfg.validate()
		if err != nil {
			t.Errorf("%+v: %v", cfg, err)
			continue
		}
		got, err := v.endpoint()
		if err != nil || got != tc.want {
			t.Errorf("endpoint of %+v = %q, %v; want %q", cfg, got, err, tc.want)
		}
	}
}

func TestMapErr(t *testing.T) {
	svc := func(status int, code string) error {
		return fmt.Errorf("operation error: %w", &oss.ServiceError{StatusCode: status, Code: code})
	}
	tests := []struct {
		err  error
		want error // nil: none of the sentinels
	}{
		{svc(404, "NoSuchKey"), storage.ErrNotFound},
		{svc(404, "BadErrorResponse"), storage.ErrNotFound}, // a HEAD answer without x-oss-err
		{svc(404, "NoSuchUpload"), objectstore.ErrNoSuchUpload},
		{svc(404, "NoSuchBucket"), nil},
		{svc(416, "InvalidRange"), objectstore.ErrInvalidRange},
		{svc(416, "BadErrorResponse"), objectstore.ErrInvalidRange},
		{svc(503, "ServiceUnavailable"), storage.ErrUnavailable},
		{svc(500, "InternalError"), storage.ErrUnavailable},
		{svc(429, "SlowDown"), storage.ErrUnavailable},
		{svc(412, "PreconditionFailed"), nil},
		{svc(403, "AccessDenied"), nil},
		{errors.New("other"), nil},
	}
	sentinels := []error{storage.ErrNotFound, storage.ErrUnavailable, objectstore.ErrNoSuchUpload, objectstore.ErrInvalidRange}
	for _, tc := range tests {
		got := mapErr(tc.err)
		if !errors.Is(got, tc.err) {
			t.Errorf("mapErr(%v) = %v, lost the SDK error", tc.err, got)
		}
		for _, s := range sentinels {
			if errors.Is(got, s) != (s == tc.want) {
				t.Errorf("mapErr(%v) = %v; errors.Is(_, %v) = %v", tc.err, got, s, !(s == tc.want))
			}
		}
	}
	if mapErr(nil) != nil {
		t.Error("mapErr(nil) != nil")
	}
}

// TestServerSideEncryption stores objects every way the driver writes them
// with Encrypt (AES256) and with a KMS key, against the MinIO of
// scripts/minio.sh, which has one, and checks with a HEAD that each is
// encrypted as configured. (MinIO answers with S3's header names; the test
// signer translated OSS's on the way in.)
func TestServerSideEncryption(t *testing.T) {
	base := testConfig(t)
	keyID := os.Getenv("BERTH_MINIO_KMS_KEY_ID")
	if keyID == "" {
		t.Fatal("BERTH_MINIO_KMS_KEY_ID is unset: run under scripts/minio.sh, whose MinIO has a KMS key")
	}
	for _, tc := range []struct{ key, want string }{{"", "AES256"}, {keyID, "aws:kms"}} {
		t.Run(tc.want, func(t *testing.T) {
			cfg := base
			cfg.Encrypt, cfg.EncryptionKMSKeyID = true, tc.key
			cfg.RootDirectory = fmt.Sprintf("berth-oss-sse-test-%d", time.Now().UnixNano())
			b, o, err := newBucket(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			forMinIO(func(o *objectstore.Options) { o.MaxCopySize = 6 << 20 })(&o)
			d, err := objectstore.New(b, o)
			if err != nil {
				t.Fatal(err)
			}
			paths := objectstoretest.WriteEveryWay(t, d)
			t.Cleanup(func() {
				for _, p := range paths {
					_ = d.Delete(context.Background(), p)
				}
			})
			for _, p := range paths {
				out, err := b.client.InvokeOperation(t.Context(), &oss.OperationInput{
					OpName: "HeadObject", Method: "HEAD", Bucket: &b.name, Key: oss.Ptr(d.Key(p)),
				})
				if err != nil {
					t.Fatal(err)
				}
				if out.Body != nil {
					out.Body.Close()
				}
				if got := out.Headers.Get("X-Amz-Server-Side-Encryption"); got != tc.want {
					t.Errorf("%s: server-side encryption %q, want %q", p, got, tc.want)
				}
				if got := out.Headers.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"); tc.key != "" && !strings.HasSuffix(got, tc.key) {
					t.Errorf("%s: KMS key %q, want %q", p, got, tc.key)
				}
			}
		})
	}
}
