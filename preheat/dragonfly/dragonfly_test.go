package dragonfly_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/crypto/bcrypt"

	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/internal/testdragonfly"
	"github.com/berthreg/berth/internal/testserver"
	"github.com/berthreg/berth/netguard"
	"github.com/berthreg/berth/preheat"
	"github.com/berthreg/berth/preheat/dragonfly"
	"github.com/berthreg/berth/server"
)

const adminPassword = "admin-password"

// jobLimit bounds the wait for a job to end: the manager polls a job's
// tasks first at once, then after 30 to 60 seconds, then after another
// 30 to 120, and so on (manager/service/job.go pollingJob, v2.3.0), so
// even a job done in a second shows SUCCESS only after half a minute or
// more, and one that missed the second poll after up to three minutes.
const jobLimit = 8 * time.Minute

// TestRealDragonfly runs a real Dragonfly (internal/testdragonfly:
// Redis, manager on PostgreSQL, scheduler, one Go seed peer) and a real
// Berth behind a counting proxy that Dragonfly reaches, and drives the
// provider against both.
func TestRealDragonfly(t *testing.T) {
	testdragonfly.Bin(t) // skip before starting anything
	berth := startBerth(t)
	df := testdragonfly.Start(t)
	proxy := newCountingProxy(t, berth)
	registry := df.Serve(t, proxy) // http://198.18.0.1:PORT, inside Dragonfly's namespace
	p, err := dragonfly.New(preheat.Endpoint{
		URL: df.ManagerURL, AuthMode: preheat.AuthOAuth,
		AuthInfo: map[string]string{"token": df.Token}, Client: loopbackClient(),
	})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("Health", func(t *testing.T) {
		if err := p.Health(t.Context()); err != nil {
			t.Fatalf("Health of a running manager with a job-scoped token: %v", err)
		}
	})

	// The seed peer pulls every blob of an image from Berth, through the
	// counting proxy; the job ends SUCCESS.
	t.Run("PreheatPullsEveryBlobIntoTheSeedPeer", func(t *testing.T) {
		t.Parallel()
		repo, img := pushImage(t, berth, "ok")
		blobs := referenced(t, img)
		for _, d := range blobs {
			if n := proxy.gets(repo, "blobs", d.String()); n != 0 {
				t.Fatalf("%s was fetched %d times before any preheat", d, n)
			}
		}
		job, err := p.Preheat(t.Context(), preheat.Image{
			Repository: repo, Tag: "v1", Digest: digest(t, img),
			URL:     registry + "/v2/" + repo + "/manifests/v1",
			Headers: map[string]string{"Authorization": "Bearer " + pullToken(t, berth, repo)},
			Scope:   preheat.ScopeSinglePeer,
		})
		if err != nil {
			t.Fatalf("Preheat: %v", err)
		}
		if job.ID == "" || job.Status.Done() || job.Message != "" {
			t.Fatalf("Preheat = %+v; want a job with an id, not yet done", job)
		}
		// The manager read the manifest before it answered.
		if n := proxy.gets(repo, "manifests", "v1"); n == 0 {
			t.Error("the manager created the job without fetching the manifest from Berth")
		}
		final := waitDone(t, p, job.ID)
		if final.Status != preheat.StatusSuccess || final.Message != "" {
			t.Fatalf("job %s ended %+v; want SUCCESS", job.ID, final)
		}
		for _, d := range blobs {
			if n := proxy.gets(repo, "blobs", d.String()); n == 0 {
				t.Errorf("job SUCCESS, but the seed peer never fetched %s from Berth", d)
			}
		}
		if again, err := p.Job(t.Context(), job.ID); err != nil || again != final {
			t.Errorf("Job(%s) again = %+v, %v; want %+v", job.ID, again, err, final)
		}
	})

	// A blob Berth cannot serve (the proxy answers 404 for it) fails the
	// seed peer's download: the job ends FAIL, saying why.
	t.Run("LayerThatCannotBePulledFailsTheJob", func(t *testing.T) {
		t.Parallel()
		repo, img := pushImage(t, berth, "broken")
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		broken := m.Layers[len(m.Layers)-1].Digest.String()
		proxy.breakBlob(repo, broken)
		job, err := p.Preheat(t.Context(), preheat.Image{
			Repository: repo, Tag: "v1", Digest: digest(t, img),
			URL:     registry + "/v2/" + repo + "/manifests/v1",
			Headers: map[string]string{"Authorization": "Bearer " + pullToken(t, berth, repo)},
		})
		if err != nil || job.ID == "" || job.Status.Done() {
			t.Fatalf("Preheat = %+v, %v; want a job with an id, not yet done", job, err)
		}
		final := waitDone(t, p, job.ID)
		if final.Status != preheat.StatusFailed || final.Message == "" {
			t.Fatalf("job %s ended %+v; want FAIL with a message", job.ID, final)
		}
		t.Logf("the failed job's message: %s", final.Message)
		if proxy.gets(repo, "blobs", broken) == 0 && proxy.refusals(repo, broken) == 0 {
			t.Errorf("the job failed, but nobody asked Berth for the broken blob %s", broken)
		}
	})

	// The manager reads the manifest before it creates a job: one that
	// does not exist is refused at once, and Preheat returns a failed job
	// with the manager's explanation.
	t.Run("MissingManifestFails", func(t *testing.T) {
		repo, _ := pushImage(t, berth, "missing")
		job, err := p.Preheat(t.Context(), preheat.Image{
			Repository: repo, Tag: "no-such-tag",
			URL:     registry + "/v2/" + repo + "/manifests/no-such-tag",
			Headers: map[string]string{"Authorization": "Bearer " + pullToken(t, berth, repo)},
		})
		if err != nil {
			t.Fatalf("Preheat of a missing manifest: %v; want a failed job", err)
		}
		if job.Status != preheat.StatusFailed || !strings.Contains(strings.ToLower(job.Message), "manifest unknown") {
			t.Fatalf("Preheat of a missing manifest = %+v; want FAIL saying the manifest is unknown", job)
		}
		if n := proxy.gets(repo, "manifests", "no-such-tag"); n != 0 {
			t.Errorf("a missing manifest answered 2xx %d times", n)
		}
		if proxy.refusals(repo, "no-such-tag") == 0 {
			t.Error("the manager never asked Berth for the missing manifest")
		}
	})

	// Without a token the manager can read, the open API refuses: Health
	// and Preheat say so with ErrUnauthorized.
	t.Run("WrongToken", func(t *testing.T) {
		bad, err := dragonfly.New(preheat.Endpoint{
			URL: df.ManagerURL, AuthMode: preheat.AuthOAuth,
			AuthInfo: map[string]string{"token": "not-" + df.Token}, Client: loopbackClient(),
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := bad.Health(t.Context()); !errors.Is(err, dragonfly.ErrUnauthorized) {
			t.Errorf("Health with a wrong token: %v; want ErrUnauthorized", err)
		}
		job, err := bad.Preheat(t.Context(), preheat.Image{URL: registry + "/v2/library/app/manifests/v1"})
		if !errors.Is(err, dragonfly.ErrUnauthorized) {
			t.Errorf("Preheat with a wrong token = %+v, %v; want ErrUnauthorized", job, err)
		}
		none, _ := dragonfly.New(preheat.Endpoint{URL: df.ManagerURL, Client: loopbackClient()})
		if err := none.Health(t.Context()); !errors.Is(err, dragonfly.ErrUnauthorized) {
			t.Errorf("Health without credentials: %v; want ErrUnauthorized (the open API needs a token)", err)
		}
	})

	t.Run("UnknownJob", func(t *testing.T) {
		for _, id := range []string{"987654321", "0", "-1", "01", "abc", ""} {
			if job, err := p.Job(t.Context(), id); !errors.Is(err, dragonfly.ErrUnknownJob) {
				t.Errorf("Job(%q) = %+v, %v; want ErrUnknownJob", id, job, err)
			}
		}
	})
}

// waitDone polls the job (every half second) until it is final, failing
// the test past jobLimit.
func waitDone(t *testing.T, p preheat.Provider, id string) preheat.Job {
	t.Helper()
	var last preheat.Job
	var next time.Time
	eventually.Within(t, jobLimit, "job "+id+" to end", func() bool {
		if time.Now().Before(next) {
			return false
		}
		next = time.Now().Add(500 * time.Millisecond)
		j, err := p.Job(t.Context(), id)
		if err != nil {
			t.Fatalf("Job(%s): %v", id, err)
		}
		if j.ID != id {
			t.Fatalf("Job(%s) = %+v: another id", id, j)
		}
		if j.Status != last.Status {
			t.Logf("job %s: %s", id, j.Status)
		}
		last = j
		return j.Status.Done()
	})
	return last
}

// startBerth runs a whole Berth server (fs storage and bbolt in a
// temporary directory) and returns its host:port.
func startBerth(t *testing.T) string {
	t.Helper()
	cfg := server.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.Auth.AdminPassword = adminPassword
	cfg.Auth.HashCost = bcrypt.MinCost
	return testserver.Start(t, cfg, server.WithLogger(slog.New(slog.DiscardHandler)))
}

// pushImage pushes a random three-layer image to Berth as
// library/<prefix>-<unique>:v1.
func pushImage(t *testing.T, berth, prefix string) (string, v1.Image) {
	t.Helper()
	repo := "library/" + prefix + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	img, err := random.Image(48<<10, 3)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(berth+"/"+repo+":v1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: "admin", Password: adminPassword}),
		remote.WithContext(t.Context())); err != nil {
		t.Fatal(err)
	}
	return repo, img
}

// pullToken is a token from Berth's token service granting pull on repo
// alone: what Berth's preheat hands a provider in Image.Headers.
func pullToken(t *testing.T, berth, repo string) string {
	t.Helper()
	q := url.Values{"service": {"berth-registry"}, "scope": {"repository:" + repo + ":pull"}}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+berth+"/service/token?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("admin", adminPassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK || out.Token == "" {
		t.Fatalf("token for %s: HTTP %d, %v", repo, resp.StatusCode, err)
	}
	return out.Token
}

// referenced is what the image's manifest references, the blobs the
// manager has the seed peer pull: its config and its layers.
func referenced(t *testing.T, img v1.Image) []v1.Hash {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	out := []v1.Hash{m.Config.Digest}
	for _, l := range m.Layers {
		out = append(out, l.Digest)
	}
	return out
}

func digest(t *testing.T, img v1.Image) string {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// countingProxy fronts Berth for Dragonfly: it counts the GETs of
// /v2/<repo>/{blobs,manifests}/<ref> that Berth answered 2xx (the seed
// peer fetches a blob whole or by ranges: 200 or 206), and answers 404
// itself for the blobs broken with breakBlob, counting those refusals
// with the other non-2xx answers.
type countingProxy struct {
	rp *httputil.ReverseProxy

	mu      sync.Mutex
	ok      map[string]int // "<repo> <kind> <ref>" -> 2xx GETs
	refused map[string]int // "<repo> <ref>" -> other GETs
	broken  map[string]bool
}

func newCountingProxy(t *testing.T, berth string) *countingProxy {
	t.Helper()
	c := &countingProxy{ok: map[string]int{}, refused: map[string]int{}, broken: map[string]bool{}}
	c.rp = httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: berth})
	c.rp.ModifyResponse = func(resp *http.Response) error {
		repo, kind, ref, ok := splitV2(resp.Request)
		if !ok {
			return nil
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if resp.StatusCode/100 == 2 {
			c.ok[repo+" "+kind+" "+ref]++
		} else {
			c.refused[repo+" "+ref]++
		}
		return nil
	}
	return c
}

func (c *countingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if repo, kind, ref, ok := splitV2(r); ok && kind == "blobs" {
		c.mu.Lock()
		broken := c.broken[repo+" "+ref]
		if broken {
			c.refused[repo+" "+ref]++
		}
		c.mu.Unlock()
		if broken {
			http.Error(w, `{"errors":[{"code":"BLOB_UNKNOWN","message":"broken by the test"}]}`, http.StatusNotFound)
			return
		}
	}
	c.rp.ServeHTTP(w, r)
}

// splitV2 parses a GET of /v2/<repo>/<kind>/<ref>.
func splitV2(r *http.Request) (repo, kind, ref string, ok bool) {
	if r.Method != http.MethodGet || !strings.HasPrefix(r.URL.Path, "/v2/") {
		return "", "", "", false
	}
	p := strings.TrimPrefix(r.URL.Path, "/v2/")
	for _, k := range []string{"blobs", "manifests"} {
		if repo, ref, found := strings.Cut(p, "/"+k+"/"); found {
			return repo, k, ref, true
		}
	}
	return "", "", "", false
}

func (c *countingProxy) gets(repo, kind, ref string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ok[repo+" "+kind+" "+ref]
}

func (c *countingProxy) refusals(repo, ref string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.refused[repo+" "+ref]
}

func (c *countingProxy) breakBlob(repo, digest string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.broken[repo+" "+digest] = true
}

// loopbackClient is a client as the preheat service builds one (through
// netguard), allowing loopback, where the manager's forwarder listens.
func loopbackClient() *http.Client {
	g := netguard.New(netguard.AllowNetworks(netip.MustParsePrefix("127.0.0.0/8")))
	return &http.Client{Transport: g.RoundTripper(g.Transport()), Timeout: 2 * time.Minute}
}

// closedPort is a loopback host:port nobody listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	var lc net.ListenConfig
	l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
