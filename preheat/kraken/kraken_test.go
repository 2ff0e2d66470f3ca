package kraken_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/crypto/bcrypt"

	"github.com/berthreg/berth/internal/blobcount"
	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/internal/testkraken"
	"github.com/berthreg/berth/internal/testserver"
	"github.com/berthreg/berth/netguard"
	"github.com/berthreg/berth/preheat"
	"github.com/berthreg/berth/preheat/kraken"
	"github.com/berthreg/berth/server"
)

const adminPassword = "admin-password"

// TestPreheatPullsEveryBlobIntoKraken runs a real Kraken (origin,
// build-index, proxy; internal/testkraken) whose origin pulls from a
// real Berth server, pushes a random three-layer image to Berth, and
// preheats it through the provider: Kraken's proxy fetches the manifest
// through its origin and has the origin cache every blob the manifest
// references, each of which the origin fetches from Berth (counted at a
// proxy in front of Berth) and then holds in its own store. An OCI image
// manifest, which Kraken v0.1.4 cannot parse, is a successful job all
// the same when sent, and no blob of it is fetched; named by its media
// type, the provider fails it without sending.
func TestPreheatPullsEveryBlobIntoKraken(t *testing.T) {
	testkraken.Bin(t) // skip before starting anything
	berth := startBerth(t)
	counter := blobcount.Start(t, berth)
	k := testkraken.Start(t, counter.Host, testkraken.WithBasicAuth("admin", adminPassword))

	repo := "library/preheat-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	img, err := random.Image(4096, 3) // Docker schema 2, what Kraken parses
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(berth+"/"+repo+":v1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: "admin", Password: adminPassword})); err != nil {
		t.Fatal(err)
	}
	manifest, _ := img.Digest()
	blobs := referenced(t, img)

	p, err := kraken.New(preheat.Endpoint{URL: k.ProxyURL + "/", AuthMode: preheat.AuthNone, Client: loopbackClient()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := p.Health(ctx); err != nil {
		t.Fatalf("Health of a running Kraken proxy: %v", err)
	}
	if n := counter.Total(); n != 0 {
		t.Fatalf("Kraken fetched %d blobs before any preheat", n)
	}

	job, err := p.Preheat(ctx, preheat.Image{Repository: repo, Tag: "v1", Digest: manifest.String(),
		URL: "http://" + counter.Host + "/v2/" + repo + "/manifests/v1", Scope: preheat.ScopeAllPeers})
	if err != nil {
		t.Fatalf("Preheat: %v", err)
	}
	if job.Status != preheat.StatusSuccess || job.ID == "" || job.Message != "" {
		t.Fatalf("Preheat returned %+v, want a successful job with an id", job)
	}
	if got, err := p.Job(ctx, job.ID); err != nil || got != job {
		t.Errorf("Job(%q) = %+v, %v; want what Preheat returned", job.ID, got, err)
	}

	eventually.Within(t, 3*time.Minute, "Kraken's origin to fetch every blob of the image from Berth", func() bool {
		for _, d := range blobs {
			if counter.Of(repo, d.String()) == 0 {
				return false
			}
		}
		return true
	})
	// And the origin holds them (and the manifest): its stat of the local
	// store alone (local=true) answers with each one's size.
	want := map[v1.Hash]int64{manifest: manifestSize(t, img)}
	for _, d := range blobs {
		want[d] = blobSize(t, img, d)
	}
	for d, size := range want {
		eventually.True(t, "the origin's store to hold "+d.String(), func() bool {
			return originHas(t, k, repo, d) == size
		})
	}
	for _, d := range blobs {
		if n := counter.Of(repo, d.String()); n != 1 {
			t.Errorf("Kraken fetched %s %d times from Berth, want once", d, n)
		}
	}

	// An OCI image manifest: the job succeeds (Kraken answers 200), but
	// Kraken's proxy parses the manifest as Docker schema 2 only and gives
	// up, logging why, before it asks for any blob: none is ever fetched.
	oci := mutate.ConfigMediaType(mutate.MediaType(img, types.OCIManifestSchema1), types.OCIConfigJSON)
	ociRepo := repo + "-oci"
	ociRef, err := name.ParseReference(berth+"/"+ociRepo+":v1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ociRef, oci, remote.WithAuth(&authn.Basic{Username: "admin", Password: adminPassword})); err != nil {
		t.Fatal(err)
	}
	ociDigest, _ := oci.Digest()
	job, err = p.Preheat(ctx, preheat.Image{Repository: ociRepo, Tag: "v1", Digest: ociDigest.String(),
		URL: "http://" + counter.Host + "/v2/" + ociRepo + "/manifests/v1"})
	if err != nil || job.Status != preheat.StatusSuccess {
		t.Fatalf("Preheat of an OCI manifest: %+v, %v; want a successful job (Kraken says nothing else)", job, err)
	}
	eventually.True(t, "Kraken's proxy to log that it cannot parse the OCI manifest", func() bool {
		for _, line := range strings.Split(k.Logs("proxy"), "\n") {
			if strings.Contains(line, ociDigest.String()) && strings.Contains(line, "parse manifest") {
				return true
			}
		}
		return false
	})
	for _, d := range referenced(t, oci) {
		if n := counter.Of(ociRepo, d.String()); n != 0 {
			t.Errorf("Kraken fetched %s of the OCI image %d times", d, n)
		}
	}
	// Told the media type, as the preheat service tells it, the provider
	// fails the OCI image itself instead of a success that warms nothing.
	job, err = p.Preheat(ctx, preheat.Image{Repository: ociRepo, Tag: "v1", Digest: ociDigest.String(),
		MediaType: string(types.OCIManifestSchema1), URL: "http://" + counter.Host + "/v2/" + ociRepo + "/manifests/v1"})
	if err != nil || job.Status != preheat.StatusFailed || !strings.Contains(job.Message, "Docker schema 2") {
		t.Errorf("Preheat of an OCI manifest named as such: %+v, %v; want a failed job naming what Kraken takes", job, err)
	}
}

// TestErrorsFromRealServers points the provider at servers that are not a
// Kraken proxy's server port: a port nobody listens on (Health and
// Preheat fail to connect) and Kraken's own origin, which has no
// notifications route (Preheat gets its 404 or 405 back as an error).
func TestErrorsFromRealServers(t *testing.T) {
	testkraken.Bin(t)
	ctx := t.Context()
	closed := closedPort(t)
	p, err := kraken.New(preheat.Endpoint{URL: "http://" + closed, Client: loopbackClient()})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Health(ctx); err == nil {
		t.Error("Health of a closed port: nil error")
	}
	img := preheat.Image{Repository: "library/app", Digest: "sha256:" + strings.Repeat("ab", 32)}
	if job, err := p.Preheat(ctx, img); err == nil {
		t.Errorf("Preheat to a closed port: %+v, nil error", job)
	}

	k := testkraken.Start(t, closed)
	origin, err := kraken.New(preheat.Endpoint{URL: k.OriginURL, Client: loopbackClient()})
	if err != nil {
		t.Fatal(err)
	}
	if err := origin.Health(ctx); err != nil {
		t.Errorf("the origin answers /health too: %v", err)
	}
	job, err := origin.Preheat(ctx, img)
	if err == nil || !(strings.Contains(err.Error(), "404") || strings.Contains(err.Error(), "405")) {
		t.Errorf("Preheat to Kraken's origin: %+v, %v; want its 404 or 405 as an error", job, err)
	}
}

// TestImagesKrakenCannotTake: a digest Kraken cannot parse and a missing
// repository end in a failed job, without a request (the endpoint is a
// closed port: a request would be an error), which Job then reports.
func TestImagesKrakenCannotTake(t *testing.T) {
	p, err := kraken.New(preheat.Endpoint{URL: "http://" + closedPort(t), Client: loopbackClient()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	sha := "sha256:" + strings.Repeat("0f", 32)
	for _, img := range []preheat.Image{
		{Repository: "library/app", Digest: "sha512:" + strings.Repeat("0f", 64)},
		{Repository: "library/app", Digest: "sha256:abc"},
		{Repository: "library/app", Digest: "sha256:" + strings.Repeat("zz", 32)},
		{Repository: "library/app", Digest: ""},
		{Repository: "", Digest: sha},
		{Repository: "library/app", Digest: sha, MediaType: "application/vnd.oci.image.index.v1+json"},
		{Repository: "library/app", Digest: sha, MediaType: "application/vnd.oci.image.manifest.v1+json"},
	} {
		job, err := p.Preheat(ctx, img)
		if err != nil || job.Status != preheat.StatusFailed || job.Message == "" || job.ID == "" {
			t.Errorf("Preheat(%+v) = %+v, %v; want a failed job saying why", img, job, err)
			continue
		}
		if got, err := p.Job(ctx, job.ID); err != nil || got != job {
			t.Errorf("Job(%q) = %+v, %v; want %+v", job.ID, got, err, job)
		}
	}
	if _, err := p.Job(ctx, "no-such-job"); !errors.Is(err, kraken.ErrUnknownJob) {
		t.Errorf("Job of an unknown id: %v, want ErrUnknownJob", err)
	}
	other, _ := kraken.New(preheat.Endpoint{URL: "http://" + closedPort(t)})
	job, _ := p.Preheat(ctx, preheat.Image{Repository: "library/app", Digest: "md5:x"})
	if _, err := other.Job(ctx, job.ID); !errors.Is(err, kraken.ErrUnknownJob) {
		t.Errorf("another provider's job: %v, want ErrUnknownJob", err)
	}
}

// TestEndpointValidation: New takes http and https URLs with a host and
// the credentials their auth mode needs, and refuses the rest with
// preheat.ErrBadEndpoint.
func TestEndpointValidation(t *testing.T) {
	good := []preheat.Endpoint{
		{URL: "http://127.0.0.1:8081"},
		{URL: "https://kraken.example/"},
		{URL: "https://kraken.example/prefix", AuthMode: preheat.AuthNone},
		{URL: "http://kraken.example", AuthMode: preheat.AuthBasic, AuthInfo: map[string]string{"username": "u", "password": "p"}},
		{URL: "http://kraken.example", AuthMode: preheat.AuthOAuth, AuthInfo: map[string]string{"token": "t"}},
	}
	for _, e := range good {
		if _, err := kraken.New(e); err != nil {
			t.Errorf("New(%+v): %v", e, err)
		}
	}
	bad := []preheat.Endpoint{
		{URL: ""},
		{URL: "kraken.example:8081"},
		{URL: "ftp://kraken.example"},
		{URL: "unix:///run/kraken.sock"},
		{URL: "http://"},
		{URL: "http:kraken.example"},
		{URL: "http://kraken.example/?x=1"},
		{URL: "http://kraken.example/#f"},
		{URL: "http://kra ken.example"},
		{URL: "http://kraken.example", AuthMode: preheat.AuthBasic, AuthInfo: map[string]string{"username": "u"}},
		{URL: "http://kraken.example", AuthMode: preheat.AuthBasic},
		{URL: "http://kraken.example", AuthMode: preheat.AuthOAuth, AuthInfo: map[string]string{"password": "p"}},
		{URL: "http://kraken.example", AuthMode: "KERBEROS"},
	}
	for _, e := range bad {
		if p, err := kraken.New(e); !errors.Is(err, preheat.ErrBadEndpoint) {
			t.Errorf("New(%+v) = %v, %v; want ErrBadEndpoint", e, p, err)
		}
	}
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

// referenced is what the image's manifest references: its config and
// its layers, the blobs Kraken's proxy has the origin cache.
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

func blobSize(t *testing.T, img v1.Image, d v1.Hash) int64 {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.Digest == d {
		return m.Config.Size
	}
	for _, l := range m.Layers {
		if l.Digest == d {
			return l.Size
		}
	}
	t.Fatalf("%s is not in the image", d)
	return 0
}

func manifestSize(t *testing.T, img v1.Image) int64 {
	t.Helper()
	raw, err := img.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	return int64(len(raw))
}

// originHas returns the size the origin's local store has of d under
// repo, -1 when it has none (Kraken's internal stat, local=true: the
// origin looks in its store and never asks its backend).
func originHas(t *testing.T, k *testkraken.Kraken, repo string, d v1.Hash) int64 {
	t.Helper()
	u := k.OriginURL + "/internal/namespace/" + url.PathEscape(repo) + "/blobs/" + d.String() + "?local=true"
	req, err := http.NewRequestWithContext(t.Context(), http.MethodHead, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return -1
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return -1
	}
	return resp.ContentLength
}

// loopbackClient is a client as the preheat service builds one (through
// netguard), allowing loopback, where the tests' servers listen.
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
