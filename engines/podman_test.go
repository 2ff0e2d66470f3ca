package engines

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPodman drives Debian's podman (scripts/podman.sh), rootful, with
// vfs storage under the test's own root and runroot and a registries.conf
// of its own. Plain HTTP: --tls-verify=false. HTTPS: --cert-dir, a
// directory holding the test's CA as ca.crt.
func TestPodman(t *testing.T) {
	testEngine(t, engineSpec{
		name: "podman",
		unavailable: func() string {
			if why := os.Getenv("BERTH_PODMAN_UNAVAILABLE"); why != "" {
				return why
			}
			if os.Getenv("BERTH_PODMAN") == "" {
				return "BERTH_PODMAN is unset: run under scripts/podman.sh (scripts/engines.sh does)"
			}
			return ""
		},
		open:             openPodman,
		platformManifest: true,
		pushesAsIs:       false,
	})
}

type podmanClient struct {
	bin     string
	global  []string // options before the command
	tls     []string // options of the commands that reach the registry
	env     []string
	dir     string
	hostReg string
}

func openPodman(t *testing.T, reg *registry, trustCA bool) client {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"home", "tmp", "certs"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	conf, auth := filepath.Join(dir, "registries.conf"), filepath.Join(dir, "auth.json")
	if err := os.WriteFile(conf, []byte("unqualified-search-registries = []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(auth, []byte(`{"auths":{}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	c := &podmanClient{
		bin: os.Getenv("BERTH_PODMAN"),
		// As scripts/podman.sh checked it runs.
		global: []string{"--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "run"),
			"--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "file",
			"--tmpdir", filepath.Join(dir, "tmp")},
		env: append(environ("HOME=", "XDG_"), "HOME="+filepath.Join(dir, "home"),
			"CONTAINERS_REGISTRIES_CONF="+conf, "REGISTRY_AUTH_FILE="+auth),
		dir:     dir,
		hostReg: reg.addr,
	}
	switch {
	case !reg.https:
		c.tls = []string{"--tls-verify=false"}
	case trustCA:
		certs := filepath.Join(dir, "certs")
		if err := os.WriteFile(filepath.Join(certs, "ca.crt"), reg.ca.pem, 0o644); err != nil {
			t.Fatal(err)
		}
		c.tls = []string{"--tls-verify=true", "--cert-dir", certs}
	default:
		c.tls = []string{"--tls-verify=true"}
	}
	return c
}

func (c *podmanClient) host() string { return c.hostReg }

func (c *podmanClient) cmd(stdin string, args ...string) command {
	return command{bin: c.bin, args: append(append([]string{}, c.global...), args...), env: c.env, dir: c.dir, stdin: stdin}
}

// remote is a command that reaches the registry: args[0] is the command.
func (c *podmanClient) remote(stdin string, args ...string) command {
	return c.cmd(stdin, append(append([]string{args[0]}, c.tls...), args[1:]...)...)
}

func (c *podmanClient) login(t *testing.T, user, password, _ string) result {
	return run(t, c.remote(password, "login", "-u", user, "--password-stdin", c.hostReg))
}

func (c *podmanClient) pull(t *testing.T, ref, platform string) result {
	args := []string{"pull"}
	if platform != "" {
		args = append(args, "--platform", platform)
	}
	return run(t, c.remote("", append(args, ref)...))
}

func (c *podmanClient) holds(t *testing.T, ref, _ string) held {
	t.Helper()
	var img []struct {
		ID          string `json:"Id"`
		Digest      string
		RepoDigests []string
	}
	out := must(t, c.cmd("", "image", "inspect", ref))
	if err := json.Unmarshal([]byte(out), &img); err != nil || len(img) != 1 {
		t.Fatalf("podman image inspect %s: %v\n%s", ref, err, out)
	}
	h := held{config: "sha256:" + img[0].ID, manifests: []string{img[0].Digest}}
	for _, rd := range img[0].RepoDigests {
		if _, d, ok := strings.Cut(rd, "@"); ok {
			h.manifests = append(h.manifests, d)
		}
	}
	return h
}

func (c *podmanClient) load(t *testing.T, img *image, ref string) {
	t.Helper()
	// podman load names the image after the archive's ref name.
	out := must(t, c.cmd("", "load", "-i", writeOCIArchive(t, img, ref)))
	if !strings.Contains(out, ref) {
		t.Fatalf("podman load did not name %s:\n%s", ref, out)
	}
}

func (c *podmanClient) push(t *testing.T, ref string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "digest")
	must(t, c.remote("", "push", "--digestfile", file, ref))
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}
