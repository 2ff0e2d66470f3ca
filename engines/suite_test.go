package engines

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// client is one container engine with configuration, credentials and an
// image store of its own, pointed at one registry.
type client interface {
	// host is the host:port the engine names the registry by.
	host() string
	// login logs in (through the registry's token service). probe is a
	// reference the credentials may pull, for an engine without a login
	// command of its own, which checks them with a pull of it.
	login(t *testing.T, user, password, probe string) result
	// pull pulls ref, only platform's image of an index when platform is
	// set.
	pull(t *testing.T, ref, platform string) result
	// holds says what the engine holds for a ref it pulled.
	holds(t *testing.T, ref, platform string) held
	// load puts img into the engine's store as ref, from an archive.
	load(t *testing.T, img *image, ref string)
	// push pushes ref and returns the manifest digest the engine
	// reports ("" when it reports none).
	push(t *testing.T, ref string) string
}

// held is what an engine holds for a reference it pulled.
type held struct {
	config    string   // the image's config digest (its image ID)
	manifests []string // the manifest and index digests it recorded for it
}

// engineSpec is one engine under test.
type engineSpec struct {
	name string
	// unavailable says why the engine cannot run here; "" when it can.
	unavailable func() string
	// open makes a client for reg. trustCA false leaves the test CA
	// untrusted (HTTPS only).
	open func(t *testing.T, reg *registry, trustCA bool) client
	// platformManifest: holds lists the manifest of the platform pulled
	// from an index, not only the index (dockerd records the index's
	// digest and the image ID only).
	platformManifest bool
	// pushesAsIs: the engine pushes the manifest it loaded byte for byte
	// (dockerd and podman compress the layer again and write a manifest
	// of their own, with the same config).
	pushesAsIs bool
}

// testEngine runs every step against the plain HTTP server, then the
// HTTPS one.
func testEngine(t *testing.T, spec engineSpec) {
	if why := spec.unavailable(); why != "" {
		t.Skipf("%s skipped: %s", spec.name, why)
	}
	for _, https := range []bool{false, true} {
		name := "http"
		if https {
			name = "https"
		}
		t.Run(name, func(t *testing.T) {
			reg := registryFor(t, https)
			fx := newFixture(t, reg, spec.name)
			if https && !t.Run("untrusted", func(t *testing.T) { untrusted(t, spec, reg, fx) }) {
				return
			}
			c := spec.open(t, reg, true)
			steps := []struct {
				name string
				fn   func(*testing.T, engineSpec, *registry, client, *fixture)
			}{
				{"login", stepLogin},
				{"pull", stepPull},
				{"platform", stepPlatform},
				{"push", stepPush},
				{"signed", stepSigned},
			}
			for _, s := range steps {
				if !t.Run(s.name, func(t *testing.T) { s.fn(t, spec, reg, c, fx) }) {
					return // the next steps build on this one
				}
			}
		})
	}
}

func ref(c client, repo, suffix string) string { return c.host() + "/" + repo + suffix }

// untrusted: an engine that was not told to trust the test's CA refuses
// the server's certificate, so the steps after it show that trusting it
// the engine's way is what lets them through.
func untrusted(t *testing.T, spec engineSpec, reg *registry, fx *fixture) {
	c := spec.open(t, reg, false)
	r := c.login(t, adminUser, adminPassword, ref(c, fx.private+"/app", ":single"))
	if r.err == nil {
		t.Fatalf("%s logged in over HTTPS without trusting the test's CA", spec.name)
	}
	out := strings.ToLower(r.output())
	if !strings.Contains(out, "x509") && !strings.Contains(out, "certificate") {
		t.Fatalf("%s failed for another reason than the certificate:\n%s", spec.name, clip(r.output()))
	}
}

// stepLogin: the registry challenges clients to its token service only
// (so what logs in below went through it); a private project's image is
// refused anonymously and with a wrong password; the admin's password
// logs in.
func stepLogin(t *testing.T, spec engineSpec, reg *registry, c client, fx *fixture) {
	resp, err := reg.client.Get(reg.url("/v2/"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	challenge := resp.Header.Values("WWW-Authenticate")
	if resp.StatusCode != http.StatusUnauthorized || len(challenge) != 1 ||
		!strings.HasPrefix(challenge[0], `Bearer realm="`+reg.url("/service/token")+`"`) {
		t.Fatalf("GET /v2/: %s, challenges %q; want 401 and the token service alone", resp.Status, challenge)
	}
	probe := ref(c, fx.private+"/app", ":single")
	r := c.pull(t, probe, "")
	if r.err == nil {
		t.Fatalf("anonymous pull of a private project's image succeeded:\n%s", clip(r.output()))
	}
	if out := strings.ToLower(r.output()); !strings.Contains(out, "denied") && !strings.Contains(out, "unauthorized") &&
		!strings.Contains(out, "insufficient_scope") {
		t.Fatalf("anonymous pull of a private project's image failed for another reason than access:\n%s", clip(r.output()))
	}
	if r := c.login(t, adminUser, "not-"+adminPassword, probe); r.err == nil {
		t.Fatalf("login with a wrong password succeeded:\n%s", clip(r.output()))
	}
	if r := c.login(t, adminUser, adminPassword, probe); r.err != nil {
		t.Fatalf("login as the admin: %v\n%s", r.err, clip(r.output()))
	}
}

// stepPull: the engine holds the image it pulled, by its manifest digest
// and config digest.
func stepPull(t *testing.T, spec engineSpec, reg *registry, c client, fx *fixture) {
	r := ref(c, fx.private+"/app", ":single")
	mustPull(t, c, r, "")
	h := c.holds(t, r, "")
	wantHeld(t, h, fx.single.configDigest, fx.single.digest)
}

// stepPlatform: --platform linux/arm64 of the two-platform index gets
// the arm64 image, not the amd64 one.
func stepPlatform(t *testing.T, spec engineSpec, reg *registry, c client, fx *fixture) {
	r := ref(c, fx.private+"/app", ":multi")
	mustPull(t, c, r, "linux/arm64")
	amd, arm := fx.multi.images[0], fx.multi.images[1]
	h := c.holds(t, r, "linux/arm64")
	want := []string{fx.multi.digest}
	if spec.platformManifest {
		want = append(want, arm.digest)
	}
	wantHeld(t, h, arm.configDigest, want...)
	if slices.Contains(h.manifests, amd.digest) || h.config == amd.configDigest {
		t.Errorf("the engine holds the amd64 image too: %+v", h)
	}
}

// stepPush: an image loaded from an archive is pushed into a project
// that does not exist yet (the push creates it); the registry then holds
// the digest the engine reports, with this image's config.
func stepPush(t *testing.T, spec engineSpec, reg *registry, c client, fx *fixture) {
	project := spec.name + "-pushed-" + randHex(3)
	reg.api(t, "GET", "/projects/"+project, nil, http.StatusNotFound)
	img := newImage(t, "amd64")
	r := ref(c, project+"/app", ":v1")
	c.load(t, img, r)
	reported := c.push(t, r)
	got, body := reg.manifest(t, project+"/app", "v1")
	if reported != "" && reported != got {
		t.Errorf("the engine reported pushing %s; the registry holds %s", reported, got)
	}
	if spec.pushesAsIs && got != img.digest {
		t.Errorf("the registry holds %s, want the loaded manifest %s", got, img.digest)
	}
	var m manifest
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("pushed manifest: %v\n%s", err, body)
	}
	if m.Config.Digest != img.configDigest || len(m.Layers) != 1 {
		t.Errorf("pushed manifest has config %s and %d layers, want config %s and 1 layer:\n%s",
			m.Config.Digest, len(m.Layers), img.configDigest, body)
	}
	reg.api(t, "GET", "/projects/"+project, nil, http.StatusOK)
}

// stepSigned: as a robot that may only pull, the engine pulls the image
// signed with the trusted project's key, and is refused the unsigned one
// with the registry's reason.
func stepSigned(t *testing.T, spec engineSpec, reg *registry, c client, fx *fixture) {
	signed := ref(c, fx.trusted+"/app", ":signed")
	if r := c.login(t, fx.robot, fx.secret, signed); r.err != nil {
		t.Fatalf("login as the pull-only robot: %v\n%s", r.err, clip(r.output()))
	}
	mustPull(t, c, signed, "")
	wantHeld(t, c.holds(t, signed, ""), fx.signed.configDigest, fx.signed.digest)

	r := c.pull(t, ref(c, fx.trusted+"/app", ":unsigned"), "")
	if r.err == nil {
		t.Fatalf("pull of the unsigned image from a project with content trust succeeded:\n%s", clip(r.output()))
	}
	if out := r.output(); !strings.Contains(out, "PROJECTPOLICYVIOLATION") && !strings.Contains(out, "not signed by a key or identity") {
		t.Fatalf("pull of the unsigned image failed without the registry's reason:\n%s", clip(out))
	}
}

func mustPull(t *testing.T, c client, ref, platform string) {
	t.Helper()
	if r := c.pull(t, ref, platform); r.err != nil {
		t.Fatalf("pull %s: %v\n%s", ref, r.err, clip(r.output()))
	}
}

func wantHeld(t *testing.T, h held, config string, manifests ...string) {
	t.Helper()
	if h.config != config {
		t.Errorf("the engine holds image config %s, want %s", h.config, config)
	}
	for _, m := range manifests {
		if !slices.Contains(h.manifests, m) {
			t.Errorf("the engine does not record manifest %s (it records %q)", m, h.manifests)
		}
	}
}
