package browsertest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berthreg/berth/internal/testscan"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/sync/errgroup"
)

// cranePath finds the crane binary: $BERTH_CRANE, else the one
// scripts/tools.sh builds into <repo>/.tools/bin, else crane on PATH. A
// missing crane fails the test.
func cranePath(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("BERTH_CRANE"); p != "" {
		return p
	}
	if p := filepath.Join(root(t), ".tools", "bin", "crane"); isFile(p) {
		return p
	}
	p, err := exec.LookPath("crane")
	if err != nil {
		t.Fatalf("crane not found in BERTH_CRANE, %s/.tools/bin or PATH (build it with scripts/tools.sh crane)", root(t))
	}
	return p
}

// isFile reports whether p is a file.
func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

// crane is the crane CLI signed in to a test server as one account, with
// a configuration of its own (HOME and DOCKER_CONFIG in a temporary
// directory).
type crane struct {
	bin  string
	env  []string
	host string
}

// newCrane signs crane in to b as user.
func (b *berth) newCrane(t testing.TB, user, password string) *crane {
	t.Helper()
	home := t.TempDir()
	c := &crane{bin: cranePath(t), host: b.host,
		env: append(os.Environ(), "HOME="+home, "DOCKER_CONFIG="+filepath.Join(home, ".docker"))}
	c.run(t, "auth", "login", b.host, "-u", user, "-p", password)
	return c
}

// run runs crane with args (plain HTTP allowed) and returns its output;
// a failure fails the test.
func (c *crane) run(t testing.TB, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, append([]string{"--insecure"}, args...)...)
	cmd.Env = c.env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("crane %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errOut.String())
	}
	return strings.TrimSpace(out.String())
}

// pushAlpine pushes, with crane append, an image whose one layer is the
// scanner fixture's real Alpine 3.18.2 root file system (its os-release
// and apk database: the built-in scanner finds 7 vulnerabilities in it,
// one critical) to host/repo:tag, and returns its digest.
func (c *crane) pushAlpine(t testing.TB, repo, tag string) string {
	t.Helper()
	layer := filepath.Join(t.TempDir(), "alpine.tar")
	if err := os.WriteFile(layer, testscan.RootfsTar(t, filepath.Join(root(t), "scan", "builtin", "testdata", "rootfs", "alpine-3.18")), 0o644); err != nil {
		t.Fatal(err)
	}
	ref := c.host + "/" + repo + ":" + tag
	c.run(t, "append", "--oci-empty-base", "-f", layer, "-t", ref)
	return c.run(t, "digest", ref)
}

// seedWorkers is how many clients seed a scale test at once.
const seedWorkers = 32

// seedTags gives repo (project/name, in an existing project) n tags,
// tag00000 and on, all on one small random image: the image is pushed
// once, then its manifest is PUT under each tag through the registry's
// /v2 API, as the administrator, by seedWorkers clients at once.
func (b *berth) seedTags(t testing.TB, repo string, n int) {
	t.Helper()
	ref, err := name.ParseReference(b.host+"/"+repo+":tag00000", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	admin := &authn.Basic{Username: "admin", Password: adminPassword}
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithAuth(admin)); err != nil {
		t.Fatal(err)
	}
	manifest, err := img.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	mediaType, err := img.MediaType()
	if err != nil {
		t.Fatal(err)
	}
	base := &http.Transport{MaxIdleConnsPerHost: seedWorkers}
	defer base.CloseIdleConnections()
	rt, err := transport.NewWithContext(context.Background(), ref.Context().Registry, admin, base,
		[]string{ref.Scope(transport.PushScope)})
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: rt, Timeout: time.Minute}
	var next atomic.Int64
	next.Store(1) // tag00000 is pushed
	var g errgroup.Group
	for range seedWorkers {
		g.Go(func() error {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return nil
				}
				u := fmt.Sprintf("%s/v2/%s/manifests/tag%05d", b.url, repo, i)
				req, err := http.NewRequest(http.MethodPut, u, bytes.NewReader(manifest))
				if err != nil {
					return err
				}
				req.Header.Set("Content-Type", string(mediaType))
				resp, err := client.Do(req)
				if err != nil {
					return err
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					return fmt.Errorf("PUT %s: %s", u, resp.Status)
				}
			}
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
}

// seedProjects creates n private projects, named prefix00000 and on,
// through POST /api/v2.0/projects as the administrator, seedWorkers at
// once.
func (b *berth) seedProjects(t testing.TB, prefix string, n int) {
	t.Helper()
	var next atomic.Int64
	var g errgroup.Group
	var mu sync.Mutex
	var first error
	for range seedWorkers {
		g.Go(func() error {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return nil
				}
				code, out, _, err := b.call(context.Background(), http.MethodPost, "/projects",
					fmt.Sprintf(`{"project_name":"%s%05d"}`, prefix, i), "admin", adminPassword)
				if err == nil && code != http.StatusCreated {
					err = fmt.Errorf("POST /projects %s%05d: %d %s", prefix, i, code, out)
				}
				if err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return err
				}
			}
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(first)
	}
}
