package cluster

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// recorder is the bottom of every client's transport: it counts the
// answers by status and keeps the requests answered 500, which no
// instance may give (an outage is a 503, a bad request a 4xx).
type recorder struct {
	mu       sync.Mutex
	statuses map[int]int
	errors   int // no answer at all (but to go-containerregistry's https probe)
	internal []string
}

func newRecorder(t *testing.T) *recorder {
	r := &recorder{statuses: map[int]int{}}
	t.Cleanup(func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, req := range r.internal {
			t.Errorf("500 Internal Server Error: %s", req)
		}
	})
	return r
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := http.DefaultTransport.RoundTrip(req)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		if req.URL.Scheme == "http" {
			r.errors++
		}
		return res, err
	}
	r.statuses[res.StatusCode]++
	if res.StatusCode == http.StatusInternalServerError {
		r.internal = append(r.internal, req.Method+" "+req.URL.String())
	}
	return res, nil
}

// count is how many answers had status s.
func (r *recorder) count(s int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.statuses[s]
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var codes []int
	for s := range r.statuses {
		codes = append(codes, s)
	}
	slices.Sort(codes)
	var b strings.Builder
	for _, s := range codes {
		fmt.Fprintf(&b, "%d×%d ", r.statuses[s], s)
	}
	fmt.Fprintf(&b, "(%d without an answer)", r.errors)
	return b.String()
}

// client is an admin's registry client through a recorder.
type client struct {
	c   *cluster
	rec *recorder
	// opts are go-containerregistry's options: the admin's credentials
	// (through the token service), the recorder, quicker retries.
	opts []remote.Option
	http *http.Client
}

func (c *cluster) client(t *testing.T) *client {
	rec := newRecorder(t)
	return &client{c: c, rec: rec, http: &http.Client{Transport: rec, Timeout: time.Minute},
		opts: []remote.Option{
			remote.WithAuth(&authn.Basic{Username: "admin", Password: c.password}),
			remote.WithTransport(rec),
			remote.WithRetryBackoff(remote.Backoff{Duration: 100 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: 5}),
			remote.WithContext(t.Context()),
		}}
}

// ref parses host/repo:tag (or @digest).
func ref(t *testing.T, host, r string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(host+"/"+r, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// push writes img to host/r, the whole push again (up to attempts
// times) when it fails: what a CI job does after go-containerregistry's
// own retries gave up. It returns the last error.
func (cl *client) push(t *testing.T, host, r string, img v1.Image, attempts int) error {
	var err error
	for range attempts {
		if err = remote.Write(ref(t, host, r), img, cl.opts...); err == nil {
			return nil
		}
		if t.Context().Err() != nil {
			return err
		}
	}
	return err
}

// verify pulls host/r, checks that it is the image of digest want and
// reads every blob, checking each against its digest.
func (cl *client) verify(t *testing.T, host, r string, want v1.Hash) {
	t.Helper()
	img, err := remote.Image(ref(t, host, r), cl.opts...)
	if err != nil {
		t.Errorf("pull %s/%s: %v", host, r, err)
		return
	}
	if d, err := img.Digest(); err != nil || d != want {
		t.Errorf("pull %s/%s: digest %v (%v), want %v", host, r, d, err, want)
		return
	}
	if err := readAll(img); err != nil {
		t.Errorf("pull %s/%s: %v", host, r, err)
	}
}

// readAll reads the config and every layer of img, checking each against
// its digest.
func readAll(img v1.Image) error {
	m, err := img.Manifest()
	if err != nil {
		return err
	}
	raw, err := img.RawConfigFile()
	if err != nil {
		return err
	}
	if h, _, _ := v1.SHA256(bytes.NewReader(raw)); h != m.Config.Digest {
		return fmt.Errorf("config: digest %v, want %v", h, m.Config.Digest)
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	for i, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			return fmt.Errorf("layer %d: %w", i, err)
		}
		h, n, err := v1.SHA256(rc)
		rc.Close()
		if err != nil || h != m.Layers[i].Digest || n != m.Layers[i].Size {
			return fmt.Errorf("layer %d: %v, %d bytes (%v), want %v, %d bytes", i, h, n, err, m.Layers[i].Digest, m.Layers[i].Size)
		}
	}
	return nil
}

// tags lists repo's tags at host, sorted.
func (cl *client) tags(t *testing.T, host, repo string) []string {
	t.Helper()
	tags, err := remote.List(ref(t, host, repo+":x").Context(), cl.opts...)
	if err != nil {
		t.Fatalf("tags of %s at %s: %v", repo, host, err)
	}
	slices.Sort(tags)
	return tags
}

// api is a request to the admin API at base (an instance or the
// balancer) as the admin; it returns the status, body and headers.
func (cl *client) api(t *testing.T, base, method, path, body string) (int, []byte, http.Header) {
	t.Helper()
	// Not t.Context(): cleanups call the API too, after it is canceled.
	req, err := http.NewRequest(method, base+"/api/v2.0"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("admin", cl.c.password)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := cl.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return res.StatusCode, b, res.Header
}

// must is api that fails the test unless the status is one of want; it
// decodes a JSON answer into out when out is not nil.
func (cl *client) must(t *testing.T, base, method, path, body string, out any, want ...int) http.Header {
	t.Helper()
	code, b, h := cl.api(t, base, method, path, body)
	if !slices.Contains(want, code) {
		t.Fatalf("%s %s: %d %s, want %v", method, path, code, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return h
}

// project creates a private project named prefix-RANDOM and returns
// its name: each run of a test (go test -count=N on one cluster) has its
// own repositories, policies and webhooks.
func (cl *client) project(t *testing.T, prefix string) string {
	t.Helper()
	name := prefix + "-" + strings.ToLower(rand.Text()[:6])
	cl.must(t, cl.c.url, "POST", "/projects", `{"project_name":"`+name+`","metadata":{"public":"false"}}`, nil, http.StatusCreated)
	return name
}

var serviceRE = regexp.MustCompile(`service="([^"]+)"`)

// token gets a bearer token for scope from the token service through the
// balancer, as the admin, for requests a test sends to chosen instances.
func (cl *client) token(t *testing.T, scope string) string {
	t.Helper()
	res, err := cl.http.Get(cl.c.url + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	m := serviceRE.FindStringSubmatch(res.Header.Get("WWW-Authenticate"))
	if res.StatusCode != http.StatusUnauthorized || m == nil {
		t.Fatalf("GET /v2/: %s, WWW-Authenticate %q", res.Status, res.Header.Get("WWW-Authenticate"))
	}
	q := url.Values{"service": {m[1]}, "scope": {scope}}
	req, _ := http.NewRequest("GET", cl.c.url+"/service/token?"+q.Encode(), nil)
	req.SetBasicAuth("admin", cl.c.password)
	res, err = cl.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var tok struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tok); err != nil || res.StatusCode != http.StatusOK || tok.Token == "" {
		t.Fatalf("token for %s: %s (%v)", scope, res.Status, err)
	}
	return tok.Token
}

// do sends a request with a bearer token and returns the answer with its
// body read.
func (cl *client) do(t *testing.T, method, u, tok string, body []byte, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body == nil {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := cl.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	return res, b
}
