package engines

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDocker drives Debian's dockerd (scripts/docker.sh) with its own
// client. Plain HTTP: dockerd takes registries on 127.0.0.0/8 as
// insecure (scripts/docker.sh also says so with --insecure-registry).
// HTTPS: the test's CA goes into dockerd's certs.d as
// HOST:PORT/ca.crt for the run, the server named dockerTLSHost (see
// there for why).
func TestDocker(t *testing.T) {
	testEngine(t, engineSpec{
		name: "docker",
		unavailable: func() string {
			if why := os.Getenv("BERTH_DOCKER_UNAVAILABLE"); why != "" {
				return why
			}
			if os.Getenv("BERTH_DOCKER_HOST") == "" {
				return "BERTH_DOCKER_HOST is unset: run under scripts/docker.sh (scripts/engines.sh does)"
			}
			return ""
		},
		open:             openDocker,
		platformManifest: false,
		pushesAsIs:       false,
	})
}

type dockerClient struct {
	bin     string
	env     []string
	hostReg string
}

func openDocker(t *testing.T, reg *registry, trustCA bool) client {
	t.Helper()
	cfg := t.TempDir()
	c := &dockerClient{
		bin: os.Getenv("BERTH_DOCKER"),
		env: append(environ("HOME="), "DOCKER_HOST="+os.Getenv("BERTH_DOCKER_HOST"),
			"DOCKER_CONFIG="+cfg, "HOME="+cfg),
		hostReg: reg.addr,
	}
	if c.bin == "" {
		c.bin = "docker"
	}
	if !reg.https {
		return c
	}
	c.hostReg = net.JoinHostPort(dockerTLSHost, reg.port)
	p := startConnectProxy(t, os.Getenv("BERTH_DOCKER_PROXY"), reg.port)
	t.Cleanup(func() {
		if p.tunnels.Load() == 0 {
			t.Errorf("dockerd never connected through the proxy at %s", os.Getenv("BERTH_DOCKER_PROXY"))
		}
	})
	if trustCA {
		certsD := os.Getenv("BERTH_DOCKER_CERTS_D")
		if certsD == "" {
			certsD = "/etc/docker/certs.d"
		}
		dir := filepath.Join(certsD, c.hostReg)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		if err := os.WriteFile(filepath.Join(dir, "ca.crt"), reg.ca.pem, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func (c *dockerClient) host() string { return c.hostReg }

func (c *dockerClient) cmd(stdin string, args ...string) command {
	return command{bin: c.bin, args: args, env: c.env, stdin: stdin}
}

func (c *dockerClient) login(t *testing.T, user, password, _ string) result {
	return run(t, c.cmd(password, "login", "-u", user, "--password-stdin", c.hostReg))
}

func (c *dockerClient) pull(t *testing.T, ref, platform string) result {
	args := []string{"pull"}
	if platform != "" {
		args = append(args, "--platform", platform)
	}
	return run(t, c.cmd("", append(args, ref)...))
}

func (c *dockerClient) holds(t *testing.T, ref, _ string) held {
	t.Helper()
	var img []struct {
		ID          string `json:"Id"`
		RepoDigests []string
	}
	out := must(t, c.cmd("", "image", "inspect", ref))
	if err := json.Unmarshal([]byte(out), &img); err != nil || len(img) != 1 {
		t.Fatalf("docker image inspect %s: %v\n%s", ref, err, out)
	}
	h := held{config: img[0].ID}
	for _, rd := range img[0].RepoDigests {
		if _, d, ok := strings.Cut(rd, "@"); ok {
			h.manifests = append(h.manifests, d)
		}
	}
	return h
}

func (c *dockerClient) load(t *testing.T, img *image, ref string) {
	t.Helper()
	out := must(t, c.cmd("", "load", "-i", writeDockerArchive(t, img, ref)))
	if !strings.Contains(out, ref) {
		t.Fatalf("docker load did not name %s:\n%s", ref, out)
	}
}

var pushedDigest = regexp.MustCompile(`digest: (sha256:[0-9a-f]{64})`)

func (c *dockerClient) push(t *testing.T, ref string) string {
	t.Helper()
	out := must(t, c.cmd("", "push", ref))
	m := pushedDigest.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("docker push printed no digest:\n%s", out)
	}
	return m[1]
}
