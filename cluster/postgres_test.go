package cluster

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berthreg/berth/internal/eventually"
)

// postgres is the server scripts/postgres.sh runs under the cluster.
type postgres struct {
	data, bin string
	cred      *syscall.Credential // the OS user it runs as; nil: ours
}

func postgresOf(t *testing.T) *postgres {
	t.Helper()
	p := &postgres{data: os.Getenv("BERTH_POSTGRES_DATA"), bin: os.Getenv("BERTH_POSTGRES_BIN")}
	if p.data == "" || p.bin == "" {
		t.Fatal("BERTH_POSTGRES_DATA and BERTH_POSTGRES_BIN are unset (scripts/cluster.sh exports them)")
	}
	if name := os.Getenv("BERTH_POSTGRES_USER"); name != "" {
		u, err := user.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	return p
}

// pid is the postmaster's, from its pid file (0 when there is none).
func (p *postgres) pid() int {
	b, err := os.ReadFile(filepath.Join(p.data, "postmaster.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	return pid
}

// running reports whether PostgreSQL accepts connections.
func (p *postgres) running() bool {
	return p.ctl("status") == nil
}

// start starts the server again on its data directory (its port is in
// its postgresql.conf), as the user it ran as, and waits until it
// accepts connections. It fails while the killed server's backends still
// hold its shared memory: the caller tries again.
func (p *postgres) start() error {
	return p.ctl("start", "-w", "-t", "60", "-l", filepath.Join(filepath.Dir(p.data), "restart.log"))
}

func (p *postgres) ctl(args ...string) error {
	cmd := exec.Command(filepath.Join(filepath.Dir(p.bin), "pg_ctl"), append(args, "-s", "-D", p.data)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	return cmd.Run()
}

// TestPostgresRestart: PostgreSQL is SIGKILLed under the running
// instances. Every instance reports not ready, and requests that need
// the store get 503 with Retry-After, never a 500, directly and through
// nginx (which passes the 503 on and keeps every instance in its
// rotation). PostgreSQL starts again, and the same instances (no
// restart) serve again: what was pushed before is there, and new pushes
// work.
func TestPostgresRestart(t *testing.T) {
	c := need(t)
	pg := postgresOf(t)
	cl := c.client(t)
	project := cl.project(t, "lb-pg")
	repo := project + "/app"
	img, err := random.Image(4096, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.push(t, c.host, repo+":before", img, 1); err != nil {
		t.Fatal(err)
	}
	before, _ := img.Digest()
	manifest, err := img.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	mediaType, _ := img.MediaType()
	tok := cl.token(t, "repository:"+repo+":pull,push")
	pids := map[*instance]int{}
	for _, in := range c.instances {
		pids[in] = in.currentPID()
	}

	pid := pg.pid()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 %d (postmaster): %v", pid, err)
	}
	t.Cleanup(func() {
		if !pg.running() { // the test failed with the server down: the next test needs it
			eventually.True(t, "PostgreSQL to start again", func() bool { return pg.start() == nil })
		}
	})
	t.Logf("killed PostgreSQL (postmaster %d)", pid)

	for _, in := range c.instances {
		eventually.True(t, "instance "+strconv.Itoa(in.n)+" to report not ready", func() bool {
			return status(in.url, "/readyz") == http.StatusServiceUnavailable
		})
	}
	// A manifest push needs the store (its blobs are checked, the tag
	// written): 503 with Retry-After on each instance, and through nginx
	// as many times as there are instances and more.
	bases := []string{c.url}
	for _, in := range c.instances {
		bases = append(bases, in.url, c.url)
	}
	for _, base := range bases {
		res, b := cl.do(t, "PUT", base+"/v2/"+repo+"/manifests/during", tok, manifest, "Content-Type", string(mediaType))
		var e struct {
			Errors []struct{ Code string } `json:"errors"`
		}
		_ = json.Unmarshal(b, &e)
		if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" || len(e.Errors) == 0 || e.Errors[0].Code != "UNAVAILABLE" {
			t.Errorf("PUT manifest at %s with PostgreSQL down: %s (Retry-After %q) %s, want 503 UNAVAILABLE with Retry-After",
				base, res.Status, res.Header.Get("Retry-After"), b)
		}
		code, body, h := cl.api(t, base, "GET", "/projects/"+project, "")
		if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
			t.Errorf("GET /api/v2.0/projects/%s at %s with PostgreSQL down: %d (Retry-After %q) %s, want 503 with Retry-After",
				project, base, code, h.Get("Retry-After"), body)
		}
	}

	eventually.True(t, "PostgreSQL to start again", func() bool { return pg.start() == nil })
	t.Logf("restarted PostgreSQL (postmaster %d)", pg.pid())
	for _, in := range c.instances {
		in.waitReady(t)
		if in.currentPID() != pids[in] || !in.alive() {
			t.Errorf("instance %d was restarted (pid %d, was %d)", in.n, in.currentPID(), pids[in])
		}
	}
	after, err := random.Image(4096, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref(t, c.host, repo+":after"), after, cl.opts...); err != nil {
		t.Fatalf("push after the restart: %v", err)
	}
	afterDigest, _ := after.Digest()
	for _, in := range c.instances {
		cl.verify(t, in.host, repo+":before", before)
		cl.verify(t, in.host, repo+":after", afterDigest)
	}
	t.Logf("answers: %s", cl.rec)
}
