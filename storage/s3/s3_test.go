package s3

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/berthreg/berth/storage/objectstore"
	"github.com/berthreg/berth/storage/objectstore/objectstoretest"
)

// testConfig returns the configuration of the MinIO (or S3) bucket named by
// the BERTH_S3_* variables. Without them the test fails, or skips under
// -short.
func testConfig(t *testing.T) Config {
	t.Helper()
	endpoint := os.Getenv("BERTH_S3_ENDPOINT")
	if endpoint == "" {
		if testing.Short() {
			t.Skip("BERTH_S3_ENDPOINT is unset; skipped with -short")
		}
		t.Fatal("BERTH_S3_ENDPOINT is unset: these tests need an S3 server. " +
			"Run them with a throw-away MinIO: scripts/minio.sh -- go test ./storage/s3")
	}
	return Config{
		Endpoint:  endpoint,
		Region:    os.Getenv("BERTH_S3_REGION"),
		Bucket:    os.Getenv("BERTH_S3_BUCKET"),
		AccessKey: os.Getenv("BERTH_S3_ACCESS_KEY"),
		SecretKey: os.Getenv("BERTH_S3_SECRET_KEY"),
	}
}

// newTestDriver builds the driver objectstoretest asks for.
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
	return s.Driver(t, b, o)
}

// TestObjectStore runs the object-store adapter suite (storagetest.Run
// included) against the S3 server.
func TestObjectStore(t *testing.T) {
	cfg := testConfig(t)
	start := time.Now()
	objectstoretest.Run(t, cfg.Endpoint, newTestDriver)
	t.Logf("suite against %s took %v", cfg.Endpoint, time.Since(start).Round(time.Millisecond))
}

func TestConfigValidation(t *testing.T) {
	ok := Config{Bucket: "b", Region: "us-east-1", Endpoint: "http://127.0.0.1:9000"}
	tests := []struct {
		field  string
		change func(*Config)
	}{
		{"Bucket", func(c *Config) { c.Bucket = "" }},
		{"Endpoint", func(c *Config) { c.Endpoint = "127.0.0.1:9000" }},
		{"SecretKey", func(c *Config) { c.AccessKey = "k" }},
		{"AccessKey", func(c *Config) { c.SecretKey = "s" }},
		{"RootDirectory", func(c *Config) { c.RootDirectory = "a/../b" }},
		{"RootDirectory", func(c *Config) { c.RootDirectory = "a//b" }},
		{"PartSize", func(c *Config) { c.PartSize = MinPartSize - 1 }},
		{"PartSize", func(c *Config) { c.PartSize = -1 }},
		{"PartSize", func(c *Config) { c.PartSize = MaxPartSize + 1 }},
		{"ServerSideEncryption", func(c *Config) { c.ServerSideEncryption = "aws:kms:dsse" }},
		{"KMSKeyID", func(c *Config) { c.KMSKeyID = "key" }},
		{"StorageClass", func(c *Config) { c.StorageClass = " STANDARD" }},
		{"MaxConcurrency", func(c *Config) { c.MaxConcurrency = -1 }},
		{"RedirectExpiry", func(c *Config) { c.RedirectExpiry = -time.Second }},
		{"MaxAttempts", func(c *Config) { c.MaxAttempts = -1 }},
	}
	for _, tc := range tests {
		cfg := ok
		tc.change(&cfg)
		_, err := New(t.Context(), cfg)
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("New with a bad %s: error %v, want one naming %s", tc.field, err, tc.field)
		}
	}

	b, opts, err := newBucket(t.Context(), Config{
		Bucket: "b", Region: "eu-west-1", RootDirectory: "/reg/istry/",
		ServerSideEncryption: "aws:kms", KMSKeyID: "alias/berth", MaxConcurrency: 4,
		RedirectExpiry: 90 * time.Second, AccessKey: "AKIDEXAMPLE", SecretKey: "not-a-secret",
	})
	if err != nil {
		t.Fatalf("New with a valid config: %v", err)
	}
	d, err := objectstore.New(b, opts)
	if err != nil {
		t.Fatal(err)
	}
	if opts.PartSize != DefaultPartSize || opts.MinPartSize != MinPartSize || opts.RedirectExpiry != 90*time.Second {
		t.Fatalf("options: %+v", opts)
	}
	if got := d.Key("blobs/x"); got != "reg/istry/blobs/x" {
		t.Fatalf("key = %q", got)
	}
	if got := aws.ToString(b.copySource("a b/c+d")); got != "b/a%20b/c+d" {
		t.Fatalf("copySource = %q", got)
	}
	if aws.ToString(b.kmsKeyID) != "alias/berth" || b.sse != "aws:kms" {
		t.Fatalf("encryption settings: %q %q", b.sse, aws.ToString(b.kmsKeyID))
	}
	// Presigning needs no request: check the URL's expiry and key.
	u, err := d.RedirectURL(t.Context(), nil, "blobs/x")
	if err != nil {
		t.Fatal(err)
	}
	pu, err := url.Parse(u)
	if err != nil || pu.Query().Get("X-Amz-Expires") != "90" || !strings.HasSuffix(pu.Path, "/reg/istry/blobs/x") {
		t.Fatalf("presigned URL %q (%v): want X-Amz-Expires=90 and the key reg/istry/blobs/x", u, err)
	}
}

// TestServerSideEncryption stores objects every way the driver writes them
// with SSE-S3 and with SSE-KMS, against the MinIO of scripts/minio.sh,
// which has a KMS key, and checks with HeadObject that each is encrypted
// as configured.
func TestServerSideEncryption(t *testing.T) {
	base := testConfig(t)
	keyID := os.Getenv("BERTH_MINIO_KMS_KEY_ID")
	if keyID == "" {
		t.Fatal("BERTH_MINIO_KMS_KEY_ID is unset: run under scripts/minio.sh, whose MinIO has a KMS key")
	}
	for _, tc := range []struct{ sse, key string }{{"AES256", ""}, {"aws:kms", keyID}} {
		t.Run(tc.sse, func(t *testing.T) {
			cfg := base
			cfg.ServerSideEncryption, cfg.KMSKeyID = tc.sse, tc.key
			cfg.RootDirectory = fmt.Sprintf("berth-sse-test-%d", time.Now().UnixNano())
			b, o, err := newBucket(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			o.MaxCopySize = 6 << 20
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
				h, err := b.client.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: &b.name, Key: aws.String(d.Key(p))})
				if err != nil {
					t.Fatal(err)
				}
				if string(h.ServerSideEncryption) != tc.sse {
					t.Errorf("%s: server-side encryption %q, want %q", p, h.ServerSideEncryption, tc.sse)
				}
				if tc.key != "" && !strings.HasSuffix(aws.ToString(h.SSEKMSKeyId), tc.key) {
					t.Errorf("%s: KMS key %q, want %q", p, aws.ToString(h.SSEKMSKeyId), tc.key)
				}
			}
		})
	}
}
