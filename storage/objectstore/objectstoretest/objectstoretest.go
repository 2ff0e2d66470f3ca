package objectstoretest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berthreg/berth/storage"
	"github.com/berthreg/berth/storage/objectstore"
	"github.com/berthreg/berth/storage/storagetest"
)

// Setup says which driver a test wants from NewDriver.
type Setup struct {
	// Endpoint, when not "", replaces the server URL the adapter talks to
	// (the suite puts a counting proxy there).
	Endpoint string
	// Root is the RootDirectory to use: a fresh one the suite empties at
	// t.Cleanup, or another driver's Root() for a second instance on the
	// same objects.
	Root string
	// Wrap must be applied to the adapter's bucket before objectstore.New.
	Wrap func(objectstore.Bucket) objectstore.Bucket
	// Options must be applied to the adapter's options before
	// objectstore.New (it may be nil).
	Options func(*objectstore.Options)
}

// NewDriver builds the adapter's driver as s asks.
type NewDriver func(t *testing.T, s Setup) *objectstore.Driver

// Run runs the suite. endpoint is the URL of the real server newDriver talks
// to by default; the traffic and fault subtests put a proxy in front of it.
func Run(t *testing.T, endpoint string, newDriver NewDriver) {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	h := &harness{
		endpoint:  endpoint,
		newDriver: newDriver,
		runRoot:   fmt.Sprintf("objectstoretest-%d-%s", time.Now().Unix(), hex.EncodeToString(b[:])),
	}
	t.Run("Storage", func(t *testing.T) {
		storagetest.Run(t, func(t *testing.T) storage.Driver { return h.driver(t, Setup{}) })
	})
	tests := []struct {
		name string
		fn   func(*testing.T, *harness)
	}{
		{"BucketContract", testBucketContract},
		{"AwkwardKeys", testAwkwardKeys},
		{"ResumeServerSideCopy", testResumeServerSideCopy},
		{"MultipartMove", testMultipartMove},
		{"ConcurrentParts", testConcurrentParts},
		{"ListPagingOrder", testListPagingOrder},
		{"RegistrySessions", testRegistrySessions},
		{"TransientErrors", testTransientErrors},
		{"Redirects", testRedirects},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
	}
}

// harness builds drivers whose buckets are tracked for multipart uploads
// left behind.
type harness struct {
	endpoint  string
	newDriver NewDriver
	runRoot   string       // prefix of every fresh root of this run
	seq       atomic.Int64 // numbers fresh roots
	// uploads maps each test to the multipart uploads its drivers have
	// open: one set per test, since a session started through one
	// instance may be completed or aborted through another.
	uploads sync.Map // *testing.T → *uploadSet
}

// uploadSet is the multipart uploads open in one test: id → key.
type uploadSet struct {
	mu   sync.Mutex
	open map[string]string
}

// driver returns the adapter's driver for s, its bucket wrapped in a tracker
// that fails t at cleanup if a multipart upload was left open. Without
// s.Root the driver gets a fresh root, emptied when t ends.
func (h *harness) driver(t *testing.T, s Setup) *objectstore.Driver {
	t.Helper()
	fresh := s.Root == ""
	if fresh {
		name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
		s.Root = fmt.Sprintf("%s/%03d-%s", h.runRoot, h.seq.Add(1), name)
	}
	v, loaded := h.uploads.LoadOrStore(t, &uploadSet{open: make(map[string]string)})
	set := v.(*uploadSet)
	if !loaded {
		t.Cleanup(func() {
			h.uploads.Delete(t)
			if left := set.left(); len(left) > 0 {
				t.Errorf("multipart uploads left neither completed nor aborted: %q", left)
			}
		})
	}
	tr := &tracker{set: set}
	inner := s.Wrap
	s.Wrap = func(b objectstore.Bucket) objectstore.Bucket {
		if inner != nil {
			b = inner(b)
		}
		tr.Bucket = b
		return tr
	}
	d := h.newDriver(t, s)
	if d == nil {
		t.Fatal("NewDriver returned nil")
	}
	if tr.Bucket == nil {
		t.Fatal("NewDriver did not apply Setup.Wrap to its bucket")
	}
	if d.Root() != s.Root {
		t.Fatalf("NewDriver made a driver on root %q, want %q", d.Root(), s.Root)
	}
	if fresh {
		t.Cleanup(func() { empty(t, d) })
	}
	return d
}

// empty deletes everything below the driver's root.
func empty(t *testing.T, d *objectstore.Driver) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	top, err := d.List(ctx, "", "", 0)
	if err != nil {
		t.Errorf("listing %s to clean up: %v", d.Root(), err)
		return
	}
	for _, p := range top {
		if err := d.Delete(ctx, p); err != nil && !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("cleaning up %s/%s: %v", d.Root(), p, err)
		}
	}
}

// tracker is a Bucket that records in its test's set the multipart uploads
// it starts, until they are completed or aborted.
type tracker struct {
	objectstore.Bucket
	set *uploadSet
}

func (tr *tracker) CreateMultipart(ctx context.Context, key string) (string, error) {
	id, err := tr.Bucket.CreateMultipart(ctx, key)
	if err == nil {
		tr.set.mu.Lock()
		tr.set.open[id] = key
		tr.set.mu.Unlock()
	}
	return id, err
}

func (tr *tracker) CompleteMultipart(ctx context.Context, key, id string, parts []objectstore.Part) error {
	err := tr.Bucket.CompleteMultipart(ctx, key, id, parts)
	if err == nil {
		tr.forget(id)
	}
	return err
}

func (tr *tracker) AbortMultipart(ctx context.Context, key, id string) error {
	err := tr.Bucket.AbortMultipart(ctx, key, id)
	if err == nil {
		tr.forget(id)
	}
	return err
}

func (tr *tracker) forget(id string) {
	tr.set.mu.Lock()
	delete(tr.set.open, id)
	tr.set.mu.Unlock()
}

// left lists the keys of uploads still open.
func (us *uploadSet) left() []string {
	us.mu.Lock()
	defer us.mu.Unlock()
	var keys []string
	for id, k := range us.open {
		keys = append(keys, fmt.Sprintf("%s (%s)", k, id))
	}
	slices.Sort(keys)
	return keys
}

// PresignGet keeps the wrapped bucket's presigning; a bucket without it
// gets "" and so streamed reads.
func (tr *tracker) PresignGet(ctx context.Context, key string, expiry time.Duration) (string, error) {
	if ps, ok := tr.Bucket.(objectstore.Presigner); ok {
		return ps.PresignGet(ctx, key, expiry)
	}
	return "", nil
}

// Driver builds the driver s asks for from an adapter's bucket b and
// options o (already pointed at s.Endpoint and s.Root by the adapter):
// it applies s.Options, wraps b with s.Wrap, and fails t on error.
func (s Setup) Driver(t *testing.T, b objectstore.Bucket, o objectstore.Options) *objectstore.Driver {
	t.Helper()
	if s.Options != nil {
		s.Options(&o)
	}
	if s.Wrap != nil {
		b = s.Wrap(b)
	}
	d, err := objectstore.New(b, o)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
