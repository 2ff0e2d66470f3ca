package registry_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/internal/testpg"
	"github.com/berthreg/berth/meta/postgres"
	"github.com/berthreg/berth/registry/internal/spec"
)

// wireCounter is a pgx tracer that counts what a store sends to
// PostgreSQL: round trips (a query, or a batch sent as one pipeline) and
// statements, with the statements' first words for the log.
type wireCounter struct {
	mu         sync.Mutex
	roundTrips int
	statements []string
}

func (c *wireCounter) add(trips int, sqls ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.roundTrips += trips
	for _, s := range sqls {
		c.statements = append(c.statements, strings.Join(strings.Fields(s), " "))
	}
}

// take returns the counts since the last take and resets them.
func (c *wireCounter) take() (trips int, statements []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	trips, statements = c.roundTrips, c.statements
	c.roundTrips, c.statements = 0, nil
	return trips, statements
}

func (c *wireCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	c.add(1, d.SQL)
	return ctx
}

func (c *wireCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (c *wireCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	sqls := make([]string, len(d.Batch.QueuedQueries))
	for i, q := range d.Batch.QueuedQueries {
		sqls[i] = q.SQL
	}
	c.add(1, sqls...)
	return ctx
}

func (c *wireCounter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (c *wireCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// pgOp is one registry operation measured on PostgreSQL: do sends its
// requests (i numbers the call, for distinct tags and blobs) and returns
// an error on an unexpected answer.
type pgOp struct {
	name string
	// maxTrips is the most round trips to PostgreSQL the operation may
	// take, once its statements are prepared.
	maxTrips int
	do       func(i int) error
	// step marks one request of a sequence that the operations after it
	// continue (call i of each acting on the same upload session): run
	// them in order, the same number of times each.
	step bool
}

// hotOps are the registry's hot paths on e: manifest and blob reads, a
// manifest push, a monolithic and a chunked blob upload (each request of
// it on its own), and a tag listing, in repository "hot/repo" which
// setupHot has filled. The bounds are what the store and the registry
// promise.
func hotOps(t testing.TB, e *env, fix hotFixture) []pgOp {
	base := "/v2/hot/repo/"
	// The chunked upload's requests, each an operation of its own: the
	// session of call i, and its chunk.
	sessions := map[int]string{}
	chunk := func(i int) []byte { return []byte(fmt.Sprintf("chunk %d %s", i, t.Name())) }
	return []pgOp{
		{"GET manifest by tag", 1, func(int) error {
			_, err := e.call(http.StatusOK, "GET", base+"manifests/v1", nil, "Accept", spec.MediaTypeOCIManifest)
			return err
		}, false},
		{"HEAD manifest by tag", 1, func(int) error {
			_, err := e.call(http.StatusOK, "HEAD", base+"manifests/v1", nil, "Accept", spec.MediaTypeOCIManifest)
			return err
		}, false},
		{"GET manifest by digest", 1, func(int) error {
			_, err := e.call(http.StatusOK, "GET", base+"manifests/"+fix.manifest.String(), nil, "Accept", spec.MediaTypeOCIManifest)
			return err
		}, false},
		{"HEAD blob", 1, func(int) error {
			_, err := e.call(http.StatusOK, "HEAD", base+"blobs/"+fix.layer.String(), nil)
			return err
		}, false},
		{"GET blob", 1, func(int) error {
			_, err := e.call(http.StatusOK, "GET", base+"blobs/"+fix.layer.String(), nil)
			return err
		}, false},
		{"GET tags/list", 1, func(int) error {
			_, err := e.call(http.StatusOK, "GET", base+"tags/list", nil)
			return err
		}, false},
		{"PUT manifest with a tag", 3, func(i int) error {
			_, err := e.call(http.StatusCreated, "PUT", fmt.Sprintf("%smanifests/t%d", base, i), fix.uniqueManifest(t, i),
				"Content-Type", spec.MediaTypeOCIManifest)
			return err
		}, false},
		{"POST blob with ?digest=", 3, func(i int) error {
			b := []byte(fmt.Sprintf("blob %d %s", i, t.Name()))
			_, err := e.call(http.StatusCreated, "POST", base+"blobs/uploads/?digest="+digest.FromBytes(b).String(), b)
			return err
		}, false},
		{"POST upload session", 1, func(i int) error {
			hdr, err := e.call(http.StatusAccepted, "POST", base+"blobs/uploads/", nil)
			sessions[i] = hdr.Get("Location")
			return err
		}, true},
		{"PATCH chunk", 3, func(i int) error {
			hdr, err := e.call(http.StatusAccepted, "PATCH", sessions[i], chunk(i),
				"Content-Range", fmt.Sprintf("0-%d", len(chunk(i))-1), "Content-Type", "application/octet-stream")
			sessions[i] = hdr.Get("Location")
			return err
		}, true},
		{"PUT closing the session", 5, func(i int) error {
			_, err := e.call(http.StatusCreated, "PUT", sessions[i]+"?digest="+digest.FromBytes(chunk(i)).String(), nil)
			delete(sessions, i)
			return err
		}, true},
		{"chunked upload", 9, func(i int) error {
			return e.chunkedPush("hot/repo", chunk(i), 1<<20)
		}, false},
	}
}

// hotFixture is what setupHot pushed.
type hotFixture struct {
	config, layer, manifest digest.Digest
	configSize, layerSize   int64
}

// uniqueManifest is an image manifest of the fixture's blobs, made
// distinct by an annotation.
func (f hotFixture) uniqueManifest(t testing.TB, i int) []byte {
	return imageManifest(t, spec.MediaTypeOCIManifest,
		desc{MediaType: "application/vnd.oci.image.config.v1+json", Digest: f.config, Size: f.configSize},
		[]desc{{MediaType: "application/vnd.oci.image.layer.v1.tar", Digest: f.layer, Size: f.layerSize,
			Annotations: map[string]string{"n": fmt.Sprint(i)}}}, nil, "")
}

// setupHot pushes a config, a layer and a manifest tagged v1 into
// hot/repo, with a few more tags.
func setupHot(t testing.TB, e *env) hotFixture {
	cfg := []byte(`{"architecture":"amd64","os":"linux"}`)
	layer := []byte(strings.Repeat("layer ", 100))
	f := hotFixture{config: digest.FromBytes(cfg), layer: digest.FromBytes(layer), configSize: int64(len(cfg)), layerSize: int64(len(layer))}
	for _, b := range [][]byte{cfg, layer} {
		if _, err := e.call(http.StatusCreated, "POST", "/v2/hot/repo/blobs/uploads/?digest="+digest.FromBytes(b).String(), b); err != nil {
			t.Fatal(err)
		}
	}
	m := f.uniqueManifest(t, -1)
	f.manifest = digest.FromBytes(m)
	for _, tag := range []string{"v1", "v2", "latest"} {
		if _, err := e.call(http.StatusCreated, "PUT", "/v2/hot/repo/manifests/"+tag, m, "Content-Type", spec.MediaTypeOCIManifest); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// TestRoundTripsPerOperation counts the round trips to PostgreSQL and the
// statements of each hot registry operation (logged with -v), once the
// statements are prepared, and checks them against each operation's
// bound: a count, so the test says the same on any machine.
func TestRoundTripsPerOperation(t *testing.T) {
	wire := &wireCounter{}
	// Parked connections are ended by the next transaction, never by
	// the store's timer, which would add its COMMIT to any operation's
	// count on a slow machine.
	store := testpg.Open(t, postgres.WithTracer(wire), postgres.WithParkLinger(time.Hour))
	e := newEnvOn(t, store)
	fix := setupHot(t, e)
	for _, op := range hotOps(t, e, fix) {
		// The first call prepares the operation's statements; the
		// second is what every later call costs.
		for i := range 2 {
			wire.take()
			if err := op.do(i); err != nil {
				t.Fatalf("%s: %v", op.name, err)
			}
		}
		trips, stmts := wire.take()
		t.Logf("%-26s %d round trips, %d statements", op.name, trips, len(stmts))
		for _, s := range stmts {
			t.Logf("    %.110s", s)
		}
		if trips > op.maxTrips {
			t.Errorf("%s: %d round trips to PostgreSQL, want at most %d", op.name, trips, op.maxTrips)
		}
	}
}
