package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

// tool is the client program name from BERTH_TOOLS (make platform sets
// it to the pinned tools' directory) or PATH; without BERTH_TOOLS the
// test is skipped, as a plain `go test ./...` has no client tools.
func tool(t *testing.T, name string) string {
	t.Helper()
	dir := os.Getenv("BERTH_TOOLS")
	if dir == "" {
		t.Skip("BERTH_TOOLS is not set: run `make platform`, which installs crane and skopeo")
	}
	if p := filepath.Join(dir, name); isFile(p) {
		return p
	}
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is in neither BERTH_TOOLS=%s nor PATH (scripts/tools.sh installs it): %v", name, dir, err)
	}
	return p
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

// client runs a client program as one registry account, with a docker
// configuration of its own.
type client struct {
	t   *testing.T
	env []string
}

// signIn returns a client signed in to host as user (crane auth login,
// which writes the credentials to its own DOCKER_CONFIG).
func signIn(t *testing.T, crane, host, user, password string) client {
	t.Helper()
	c := client{t: t, env: append(os.Environ(), "DOCKER_CONFIG="+t.TempDir(), "HOME="+t.TempDir())}
	c.must(crane, "auth", "login", host, "-u", user, "-p", password)
	return c
}

// run runs a program and returns its combined output and error.
func (c client) run(prog string, args ...string) (string, error) {
	cmd := exec.Command(prog, args...)
	cmd.Env = c.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// must runs a program and fails the test when it fails.
func (c client) must(prog string, args ...string) {
	c.t.Helper()
	if out, err := c.run(prog, args...); err != nil {
		c.t.Fatalf("%s %v: %v\n%s", filepath.Base(prog), args, err, out)
	}
}

// image is an image written to an OCI layout directory.
type image struct {
	dir    string
	digest string
}

// ociLayout writes img to an OCI layout of its own.
func ociLayout(t *testing.T, img v1.Image) image {
	t.Helper()
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return image{dir: dir, digest: d.String()}
}

// randomImage is a small image without packages: a clean scan.
func randomImage(t *testing.T) v1.Image {
	t.Helper()
	img, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	return img
}
