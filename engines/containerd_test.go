package engines

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// containerdUnavailable says why the containerd tests cannot run.
func containerdUnavailable() string {
	if os.Getenv("BERTH_CONTAINERD_ADDR") == "" || os.Getenv("BERTH_CTR") == "" {
		return "BERTH_CONTAINERD_ADDR is unset: run under scripts/containerd.sh (scripts/engines.sh does)"
	}
	return ""
}

// hostsDir makes a containerd hosts directory (ctr's and nerdctl's
// --hosts-dir) for reg. Over HTTPS, HOST:PORT/hosts.toml says to use
// HTTPS, naming the test's CA as the server's when trustCA: without a
// hosts.toml containerd speaks plain HTTP to a registry on loopback.
func hostsDir(t *testing.T, reg *registry, trustCA bool) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "certs.d")
	host := filepath.Join(dir, reg.addr)
	if err := os.MkdirAll(host, 0o755); err != nil {
		t.Fatal(err)
	}
	if !reg.https {
		return dir
	}
	// The server, and the same as a [host] (containerd 1.6 wants one),
	// so that neither way in goes without the CA.
	caLine := ""
	if trustCA {
		ca := filepath.Join(host, "ca.crt")
		if err := os.WriteFile(ca, reg.ca.pem, 0o644); err != nil {
			t.Fatal(err)
		}
		caLine = fmt.Sprintf("ca = %q\n", ca)
	}
	toml := fmt.Sprintf("server = %q\n%s\n[host.%q]\n  capabilities = [\"pull\", \"resolve\", \"push\"]\n  %s",
		reg.url(""), caLine, reg.url(""), caLine)
	if err := os.WriteFile(filepath.Join(host, "hosts.toml"), []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestContainerd drives containerd (Debian's, scripts/containerd.sh)
// with ctr, in a namespace of the test's own. ctr has no login: its
// commands take the credentials (--user), and it goes through the token
// flow with them. Plain HTTP: --plain-http. HTTPS: --hosts-dir with the
// test's CA in HOST:PORT/hosts.toml.
func TestContainerd(t *testing.T) {
	testEngine(t, engineSpec{
		name:             "ctr",
		unavailable:      containerdUnavailable,
		open:             openCtr,
		platformManifest: true,
		pushesAsIs:       true,
	})
}

type ctrClient struct {
	bin     string
	global  []string
	remote  []string // options of the commands that reach the registry
	user    string   // user:password, once logged in
	hostReg string
}

func openCtr(t *testing.T, reg *registry, trustCA bool) client {
	t.Helper()
	c := &ctrClient{
		bin:     os.Getenv("BERTH_CTR"),
		global:  []string{"--address", os.Getenv("BERTH_CONTAINERD_ADDR"), "--namespace", "berth-ctr-" + randHex(4)},
		remote:  []string{"--hosts-dir", hostsDir(t, reg, trustCA)},
		hostReg: reg.addr,
	}
	if !reg.https {
		c.remote = append(c.remote, "--plain-http")
	}
	t.Cleanup(func() { c.clean(t) })
	return c
}

func (c *ctrClient) cmd(args ...string) command {
	return command{bin: c.bin, args: append(append([]string{}, c.global...), args...), env: environ()}
}

// remoteCmd is `ctr images VERB` reaching the registry with c's
// options and credentials.
func (c *ctrClient) remoteCmd(verb string, user string, args ...string) command {
	all := append([]string{"images", verb}, c.remote...)
	if user != "" {
		all = append(all, "--user", user)
	}
	return c.cmd(append(all, args...)...)
}

// clean removes the namespace's images, and the namespace once empty.
func (c *ctrClient) clean(t *testing.T) {
	out := run(t, c.cmd("images", "ls", "-q"))
	if names := strings.Fields(out.stdout); len(names) > 0 {
		run(t, c.cmd(append([]string{"images", "rm", "--sync"}, names...)...))
	}
	run(t, command{bin: c.bin, args: []string{"--address", c.global[1], "namespaces", "rm", c.global[3]}, env: environ()})
}

func (c *ctrClient) host() string { return c.hostReg }

// login: ctr has no login command; the credentials go with each
// command, here a pull of probe, which they must be allowed.
func (c *ctrClient) login(t *testing.T, user, password, probe string) result {
	r := run(t, c.remoteCmd("pull", user+":"+password, probe))
	if r.err == nil {
		c.user = user + ":" + password
	}
	return r
}

func (c *ctrClient) pull(t *testing.T, ref, platform string) result {
	var args []string
	if platform != "" {
		args = append(args, "--platform", platform)
	}
	return run(t, c.remoteCmd("pull", c.user, append(args, ref)...))
}

// holds reads the image's target from containerd's image store and the
// manifests and config under it from its content store, each checked
// against its digest. Of an index, only the manifests containerd has.
func (c *ctrClient) holds(t *testing.T, ref, platform string) held {
	t.Helper()
	var target string
	for _, line := range strings.Split(must(t, c.cmd("images", "ls", "name=="+ref)), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == ref {
			target = f[2]
		}
	}
	if target == "" {
		t.Fatalf("ctr images ls does not list %s", ref)
	}
	h := held{manifests: []string{target}}
	var m manifest
	c.content(t, target, &m)
	if len(m.Manifests) > 0 {
		var chosen string
		for _, d := range m.Manifests {
			if run(t, c.cmd("content", "get", d.Digest)).err != nil {
				continue // not fetched
			}
			h.manifests = append(h.manifests, d.Digest)
			if d.Platform != nil && "linux/"+d.Platform.Architecture == platform {
				chosen = d.Digest
			}
		}
		if chosen == "" {
			t.Fatalf("containerd holds no manifest for %s of index %s", platform, target)
		}
		m = manifest{}
		c.content(t, chosen, &m)
	}
	var config struct{ Architecture string }
	c.content(t, m.Config.Digest, &config)
	if platform != "" && "linux/"+config.Architecture != platform {
		t.Errorf("containerd chose the %s image for %s", config.Architecture, platform)
	}
	h.config = m.Config.Digest
	return h
}

// content reads a blob from containerd's content store, checks it hashes
// to digest and decodes it into v.
func (c *ctrClient) content(t *testing.T, digest string, v any) {
	t.Helper()
	b := must(t, c.cmd("content", "get", digest))
	if got := digestOf([]byte(b)); got != digest {
		t.Fatalf("containerd's content %s hashes to %s", digest, got)
	}
	if err := json.Unmarshal([]byte(b), v); err != nil {
		t.Fatalf("content %s: %v", digest, err)
	}
}

func (c *ctrClient) load(t *testing.T, img *image, ref string) {
	t.Helper()
	out := must(t, c.cmd("images", "import", writeOCIArchive(t, img, ref)))
	if !strings.Contains(out, ref) {
		t.Fatalf("ctr images import did not name %s:\n%s", ref, out)
	}
}

var pushedManifest = regexp.MustCompile(`manifest-(sha256:[0-9a-f]{64})`)

func (c *ctrClient) push(t *testing.T, ref string) string {
	t.Helper()
	out := must(t, c.remoteCmd("push", c.user, ref))
	if m := pushedManifest.FindStringSubmatch(out); m != nil {
		return m[1]
	}
	return ""
}

// TestNerdctl drives containerd with nerdctl (scripts/tools.sh nerdctl),
// in a namespace and data root of the test's own, logging in with
// nerdctl login. Plain HTTP: --insecure-registry. HTTPS: --hosts-dir
// with the test's CA in HOST:PORT/hosts.toml.
func TestNerdctl(t *testing.T) {
	testEngine(t, engineSpec{
		name: "nerdctl",
		unavailable: func() string {
			if why := containerdUnavailable(); why != "" {
				return why
			}
			if _, err := tool("nerdctl"); err != nil {
				return err.Error()
			}
			return ""
		},
		open:             openNerdctl,
		platformManifest: true,
		pushesAsIs:       true,
	})
}

type nerdctlClient struct {
	bin     string
	global  []string
	env     []string
	hostReg string
}

func openNerdctl(t *testing.T, reg *registry, trustCA bool) client {
	t.Helper()
	dir := t.TempDir()
	ns := "berth-nerdctl-" + randHex(4)
	c := &nerdctlClient{
		bin: mustTool(t, "nerdctl"),
		global: []string{"--address", os.Getenv("BERTH_CONTAINERD_ADDR"), "--namespace", ns,
			"--data-root", filepath.Join(dir, "data"), "--hosts-dir", hostsDir(t, reg, trustCA)},
		env:     append(environ("HOME=", "XDG_"), "HOME="+dir, "DOCKER_CONFIG="+filepath.Join(dir, "docker")),
		hostReg: reg.addr,
	}
	if !reg.https {
		c.global = append(c.global, "--insecure-registry")
	}
	t.Cleanup(func() {
		out := run(t, c.cmd("", "images", "-q"))
		if ids := strings.Fields(out.stdout); len(ids) > 0 {
			run(t, c.cmd("", append([]string{"rmi", "-f"}, ids...)...))
		}
		run(t, c.cmd("", "namespace", "rm", ns))
	})
	return c
}

func (c *nerdctlClient) cmd(stdin string, args ...string) command {
	return command{bin: c.bin, args: append(append([]string{}, c.global...), args...), env: c.env, stdin: stdin}
}

func (c *nerdctlClient) host() string { return c.hostReg }

func (c *nerdctlClient) login(t *testing.T, user, password, _ string) result {
	return run(t, c.cmd(password, "login", "-u", user, "--password-stdin", c.hostReg))
}

func (c *nerdctlClient) pull(t *testing.T, ref, platform string) result {
	args := []string{"pull"}
	if platform != "" {
		args = append(args, "--platform", platform)
	}
	return run(t, c.cmd("", append(args, ref)...))
}

func (c *nerdctlClient) holds(t *testing.T, ref, platform string) held {
	t.Helper()
	args := []string{"image", "inspect", "--mode", "native"}
	if platform != "" {
		args = append(args, "--platform", platform)
	}
	var img []struct {
		Image struct {
			Target descriptor
		}
		ManifestDesc    descriptor
		ImageConfigDesc descriptor
	}
	out := must(t, c.cmd("", append(args, ref)...))
	if err := json.Unmarshal([]byte(out), &img); err != nil || len(img) != 1 {
		t.Fatalf("nerdctl image inspect %s: %v\n%s", ref, err, out)
	}
	return held{config: img[0].ImageConfigDesc.Digest,
		manifests: []string{img[0].Image.Target.Digest, img[0].ManifestDesc.Digest}}
}

func (c *nerdctlClient) load(t *testing.T, img *image, ref string) {
	t.Helper()
	out := must(t, c.cmd("", "load", "-i", writeOCIArchive(t, img, ref)))
	if !strings.Contains(out, ref) {
		t.Fatalf("nerdctl load did not name %s:\n%s", ref, out)
	}
}

func (c *nerdctlClient) push(t *testing.T, ref string) string {
	t.Helper()
	out := must(t, c.cmd("", "push", ref))
	if m := pushedManifest.FindStringSubmatch(out); m != nil {
		return m[1]
	}
	return ""
}
