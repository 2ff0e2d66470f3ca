package s3

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/berthreg/berth/storage"
	"github.com/berthreg/berth/storage/memory"
	"github.com/berthreg/berth/storage/objectstore"
	"github.com/berthreg/berth/storage/storagetest"
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

// runRoot is this test process's prefix in the shared bucket.
var runRoot = func() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("berth-s3-test-%d-%s", time.Now().Unix(), hex.EncodeToString(b[:]))
}()

var driverSeq atomic.Int64

// testDriver is a driver that remembers the paths it opened writers for.
type testDriver struct {
	*objectstore.Driver
	bkt   *bucket
	cfg   Config // with the driver's own RootDirectory
	mu    sync.Mutex
	paths map[string]bool
}

// with returns another driver on the same root, with adjusted options.
func (d *testDriver) with(t *testing.T, tune func(*objectstore.Options)) *objectstore.Driver {
	t.Helper()
	other, _, err := newDriver(t.Context(), d.cfg, tune)
	if err != nil {
		t.Fatal(err)
	}
	return other
}

func (d *testDriver) Writer(ctx context.Context, p string, offset int64) (storage.FileWriter, error) {
	w, err := d.Driver.Writer(ctx, p, offset)
	if err == nil {
		d.mu.Lock()
		d.paths[p] = true
		d.mu.Unlock()
	}
	return w, err
}

func (d *testDriver) written() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Sorted(maps.Keys(d.paths))
}

// newTestDriver returns a driver on a fresh RootDirectory of its own, whose
// objects are removed when the test ends, after checking that no multipart
// upload was left behind.
func newTestDriver(t *testing.T) *testDriver {
	t.Helper()
	return newTunedDriver(t, testConfig(t), nil)
}

// newTunedDriver is newTestDriver for cfg with adjusted driver options.
func newTunedDriver(t *testing.T, cfg Config, tune func(*objectstore.Options)) *testDriver {
	t.Helper()
	name := fmt.Sprintf("%03d-%s", driverSeq.Add(1), strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()))
	cleanupCfg := cfg
	cleanupCfg.RootDirectory = runRoot
	cleaner, err := New(t.Context(), cleanupCfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RootDirectory = runRoot + "/" + name
	inner, bkt, err := newDriver(t.Context(), cfg, tune)
	if err != nil {
		t.Fatal(err)
	}
	d := &testDriver{Driver: inner, bkt: bkt, cfg: cfg, paths: make(map[string]bool)}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// Every writer the test opened is closed by now (cleanups run in
		// reverse): none may have left a multipart upload behind. (MinIO
		// lists uploads only for an exact key, hence one request per path.)
		for _, p := range d.written() {
			ups, err := d.bkt.client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{
				Bucket: &d.bkt.name, Prefix: aws.String(d.Key(p)),
			})
			if err != nil {
				t.Errorf("listing multipart uploads of %q: %v", p, err)
			} else if len(ups.Uploads) > 0 {
				t.Errorf("%d multipart uploads of %q left behind", len(ups.Uploads), p)
			}
		}
		if err := cleaner.Delete(ctx, name); err != nil && !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("cleaning up %s/%s: %v", runRoot, name, err)
		}
	})
	return d
}

func TestConformance(t *testing.T) {
	testConfig(t)
	start := time.Now()
	storagetest.Run(t, func(t *testing.T) storage.Driver { return newTestDriver(t) })
	t.Logf("conformance suite against %s took %v", os.Getenv("BERTH_S3_ENDPOINT"), time.Since(start).Round(time.Millisecond))
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

	var opts objectstore.Options
	d, b, err := newDriver(t.Context(), Config{
		Bucket: "b", Region: "eu-west-1", RootDirectory: "/reg/istry/",
		ServerSideEncryption: "aws:kms", KMSKeyID: "alias/berth", MaxConcurrency: 4,
	}, func(o *objectstore.Options) { opts = *o })
	if err != nil {
		t.Fatalf("New with a valid config: %v", err)
	}
	if opts.PartSize != DefaultPartSize || opts.MinPartSize != MinPartSize || opts.RedirectExpiry != 0 {
		t.Fatalf("defaults: %+v", opts)
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
}

// pattern returns n deterministic bytes.
func pattern(seed byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7+i/251)
	}
	return b
}

func putObject(t *testing.T, d storage.Driver, p string, offset int64, data []byte) {
	t.Helper()
	w, err := d.Writer(t.Context(), p, offset)
	if err != nil {
		t.Fatalf("Writer(%q, %d): %v", p, offset, err)
	}
	defer w.Close()
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(t.Context()); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

func readObject(t *testing.T, d storage.Driver, p string) []byte {
	t.Helper()
	r, err := d.Reader(t.Context(), p, 0)
	if err != nil {
		t.Fatalf("Reader(%q): %v", p, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestResumeServerSideCopy resumes above the 5 MiB part minimum, where the
// committed prefix is copied server-side: discarding a tail, appending, and
// closing a resumed writer without Commit.
func TestResumeServerSideCopy(t *testing.T) {
	d := newTestDriver(t)
	const p = "big/obj"
	data := pattern(1, 12<<20+5)
	putObject(t, d, p, 0, data)

	// Close without Commit leaves the object as it was.
	w, err := d.Writer(t.Context(), p, 7<<20)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(pattern(9, 9<<20)); err != nil { // uploads the copy and one part
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readObject(t, d, p), data) {
		t.Fatal("Close of a resumed writer changed the object")
	}

	// Resume at 6 MiB: the tail is discarded and replaced.
	tail := pattern(2, 3<<20)
	putObject(t, d, p, 6<<20, tail)
	want := append(append([]byte{}, data[:6<<20]...), tail...)
	if got := readObject(t, d, p); !bytes.Equal(got, want) {
		t.Fatalf("after resuming at 6 MiB: %d bytes, want %d matching", len(got), len(want))
	}
	// Resume at the exact size with nothing written keeps it.
	putObject(t, d, p, int64(len(want)), nil)
	if got := readObject(t, d, p); !bytes.Equal(got, want) {
		t.Fatal("resuming at the end and committing nothing changed the object")
	}
}

// TestMultipartMove moves an object larger than the copy limit, lowered
// from 5 GiB for the test.
func TestMultipartMove(t *testing.T) {
	d := newTunedDriver(t, testConfig(t), func(o *objectstore.Options) {
		o.MaxCopySize, o.MaxPartSize = 10<<20, 10<<20
	})
	data := pattern(3, 25<<20+3)
	putObject(t, d, "mv/src", 0, data)
	if err := d.Move(t.Context(), "mv/src", "mv/dst"); err != nil {
		t.Fatal(err)
	}
	if got := readObject(t, d, "mv/dst"); !bytes.Equal(got, data) {
		t.Fatalf("moved object: %d bytes, want %d matching", len(got), len(data))
	}
	if _, err := d.Stat(t.Context(), "mv/src"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Stat of the moved source: %v", err)
	}
	// Resuming with a lowered copy limit splits the copied prefix too.
	putObject(t, d, "mv/dst", 22<<20, []byte("end"))
	want := append(append([]byte{}, data[:22<<20]...), "end"...)
	if got := readObject(t, d, "mv/dst"); !bytes.Equal(got, want) {
		t.Fatalf("resumed object: %d bytes, want %d matching", len(got), len(want))
	}
}

// TestListPagingOrder lists with S3 pages of one and two keys, where S3's
// order (a directory at "x/b/") and the contract's ("x/b" before "x/b.txt")
// differ across page boundaries, and compares with storage/memory.
func TestListPagingOrder(t *testing.T) {
	d := newTestDriver(t)
	ref := memory.New()
	tree := []string{"x/a", "x/b!", "x/b-c/d", "x/b.txt", "x/b/c", "x/b/d/e", "x/b0", "x/bb", "x/c", "x/c!", "y"}
	for _, p := range tree {
		putObject(t, d, p, 0, []byte(p))
		putObject(t, ref, p, 0, []byte(p))
	}
	for _, page := range []int{1, 2, 3, 0} {
		d := d.with(t, func(o *objectstore.Options) { o.ListPageSize = page })
		for _, prefix := range []string{"", "x", "x/b"} {
			for _, after := range []string{"", "x/a", "x/b", "x/b!", "x/b.", "x/b.txt", "x/b/zz", "x/bz"} {
				for _, limit := range []int{0, 1, 2, 3, 5} {
					want, werr := ref.List(t.Context(), prefix, after, limit)
					got, err := d.List(t.Context(), prefix, after, limit)
					if err != nil || werr != nil || !slices.Equal(got, want) {
						t.Errorf("page %d: List(%q, %q, %d) = %q, %v; want %q, %v", page, prefix, after, limit, got, err, want, werr)
					}
				}
			}
		}
	}
}
