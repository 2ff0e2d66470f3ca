package registry_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/internal/testpg"
	"github.com/berthreg/berth/meta/postgres"
	"github.com/berthreg/berth/registry/internal/spec"
)

// call sends one request from any goroutine and returns its status and
// headers, or an error naming the request and what came back when the
// status is not want.
func (e *env) call(want int, method, path string, body []byte, hdr ...string) (http.Header, error) {
	u := path
	if !strings.HasPrefix(u, "http") {
		u = e.srv.URL + path
	}
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	var res *http.Response
	if e.direct {
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		res = rec.Result()
	} else if res, err = http.DefaultClient.Do(req); err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		return nil, fmt.Errorf("%s %s: status %d, want %d: %s", method, path, res.StatusCode, want, b)
	}
	return res.Header, nil
}

// chunkedPush pushes b to repo in a session of chunks of n bytes.
func (e *env) chunkedPush(repo string, b []byte, n int) error {
	hdr, err := e.call(http.StatusAccepted, "POST", "/v2/"+repo+"/blobs/uploads/", nil)
	if err != nil {
		return err
	}
	loc := hdr.Get("Location")
	for start := 0; start < len(b); start += n {
		end := min(start+n, len(b))
		hdr, err = e.call(http.StatusAccepted, "PATCH", loc, b[start:end],
			"Content-Range", fmt.Sprintf("%d-%d", start, end-1), "Content-Type", "application/octet-stream")
		if err != nil {
			return err
		}
		loc = hdr.Get("Location")
	}
	_, err = e.call(http.StatusCreated, "PUT", loc+"?digest="+digest.FromBytes(b).String(), nil)
	return err
}

// concurrently runs op(i) for i in [0, n) on n goroutines, started
// together, and fails the test with their errors.
func concurrently(t *testing.T, n int, op func(i int) error) {
	t.Helper()
	start := make(chan struct{})
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = op(i)
		})
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// TestIndependentPushesDoNotConflict runs pushes that share nothing but
// a repository (chunked uploads of distinct blobs, monolithic pushes of
// distinct blobs, manifests under distinct tags) from many clients at
// once on PostgreSQL, and checks that every one succeeded without
// PostgreSQL failing a single transaction to serialize: independent
// writes take no predicate locks the others' writes fall in, so they
// need no retries (which, under enough load, ran out and became 500s).
// The repositories exist beforehand: concurrent creations of
// repositories insert into the catalog's index pages, which every push
// reads, and may still conflict (and be retried).
func TestIndependentPushesDoNotConflict(t *testing.T) {
	const clients, rounds = 8, 3
	dsn := testpg.Database(t)
	store, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvOn(t, store)
	cfg := []byte(`{"architecture":"amd64","os":"linux"}`)
	cd := e.pushBlob("app/one", cfg)
	ld := e.pushBlob("app/one", randomBytes(t, 512))
	for c := range clients {
		e.pushBlob(fmt.Sprintf("chunked/r%d", c), cfg)
	}
	// What autovacuum does to small tables soon enough: with statistics,
	// the planner finds a sequential scan of a table of a page or two
	// cheaper than an index lookup.
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), "ANALYZE"); err != nil {
		t.Fatal(err)
	}
	scenarios := []struct {
		name string
		op   func(client, round int) error
	}{
		{"chunked uploads into one repository", func(c, r int) error {
			return e.chunkedPush("app/one", randomBytes(t, 3000), 1000)
		}},
		{"chunked uploads into distinct repositories", func(c, r int) error {
			return e.chunkedPush(fmt.Sprintf("chunked/r%d", c), randomBytes(t, 3000), 1000)
		}},
		{"monolithic pushes into one repository", func(c, r int) error {
			b := randomBytes(t, 100)
			_, err := e.call(http.StatusCreated, "POST", "/v2/app/one/blobs/uploads/?digest="+digest.FromBytes(b).String(), b)
			return err
		}},
		{"manifests under distinct tags of one repository", func(c, r int) error {
			m := imageManifest(t, spec.MediaTypeOCIManifest,
				desc{MediaType: "application/vnd.oci.image.config.v1+json", Digest: cd, Size: int64(len(cfg))},
				[]desc{{MediaType: "application/vnd.oci.image.layer.v1.tar", Digest: ld, Size: 512,
					Annotations: map[string]string{"n": fmt.Sprint(c, ".", r)}}}, nil, "")
			_, err := e.call(http.StatusCreated, "PUT", fmt.Sprintf("/v2/app/one/manifests/c%d-r%d", c, r), m,
				"Content-Type", spec.MediaTypeOCIManifest)
			return err
		}},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			before := store.Stats()
			concurrently(t, clients, func(c int) error {
				for r := range rounds {
					if err := sc.op(c, r); err != nil {
						return err
					}
				}
				return nil
			})
			after := store.Stats()
			t.Logf("%d Updates, %d retries", after.Updates-before.Updates, after.Retries-before.Retries)
			if n := after.Retries - before.Retries; n != 0 {
				t.Errorf("%d transactions failed to serialize and were run again: want none", n)
			}
		})
	}
}
