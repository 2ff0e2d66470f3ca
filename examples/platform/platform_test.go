package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/internal/testscan"
)

const (
	alpineRootFS = "../../scan/builtin/testdata/rootfs/alpine-3.18"
	osvFixtures  = "../../scan/builtin/testdata/osv"
)

// TestPlatformEndToEnd walks the Rainbond-style integration: a tenant
// created through the platform's own API gets a project and robots from
// the platform's Go code; its build system pushes with crane and skopeo,
// as the builder robot, to "<image hub domain>/app:<tag>"; each push to
// the component's repository redeploys it exactly once (also across a
// restart of the platform); the scans finish; and the pull gate lets the
// runtime robot pull the clean image and refuses the vulnerable one.
func TestPlatformEndToEnd(t *testing.T) {
	crane, skopeo := tool(t, "crane"), tool(t, "skopeo")
	people := NewPeople()
	if err := people.Add("root", "root-password", "", true); err != nil {
		t.Fatal(err)
	}
	if err := people.Add("alice", "alice-password", "acme", false); err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	p, host, stop := startPlatform(t, dataDir, people)

	var tenant Tenant
	call(t, host, "alice:alice-password", "POST", "/platform/tenants", `{"name":"acme"}`, http.StatusForbidden)
	call(t, host, "root:root-password", "POST", "/platform/tenants", `{"name":"Acme!"}`, http.StatusBadRequest)
	if err := json.Unmarshal(call(t, host, "root:root-password", "POST", "/platform/tenants", `{"name":"acme"}`, http.StatusCreated), &tenant); err != nil {
		t.Fatal(err)
	}
	hub := tenant.Hub
	if hub.Domain != host+"/acme" || hub.Namespace != "acme" || hub.Username != "robot$acme+builder" || hub.Password == "" {
		t.Fatalf("image hub %+v", hub)
	}
	call(t, host, "alice:alice-password", "POST", "/platform/tenants/acme/components", `{"name":"web","repository":"app"}`, http.StatusCreated)
	// The tenant's retention, as the registry keeps it.
	if pol, err := p.srv.Retention().Policy(t.Context(), "acme"); err != nil || len(pol.Rules) != 1 ||
		pol.Rules[0].Count != keepPushes || pol.Schedule != retentionSchedule {
		t.Errorf("acme's retention: %+v, %v", pol, err)
	}

	// The build system pushes as the builder robot, to the image hub's
	// domain: crane the vulnerable Alpine image as app:v2, skopeo a clean
	// one as app:v3, crane an image no component runs as tools:v1.
	builder := signIn(t, crane, host, hub.Username, hub.Password)
	vulnerable := ociLayout(t, testscan.RootfsImage(t, alpineRootFS))
	clean := ociLayout(t, randomImage(t))
	builder.must(crane, "push", "--insecure", vulnerable.dir, hub.Domain+"/app:v2")
	builder.must(skopeo, "copy", "--dest-tls-verify=false", "--dest-creds", hub.Username+":"+hub.Password,
		"oci:"+clean.dir, "docker://"+hub.Domain+"/app:v3")
	builder.must(crane, "push", "--insecure", ociLayout(t, randomImage(t)).dir, hub.Domain+"/tools:v1")

	eventually.True(t, "both pushes to app to redeploy web", func() bool { return len(listDeployments(t, host)) >= 2 })
	ds := listDeployments(t, host)
	want := []struct{ image, digest string }{{hub.Domain + "/app:v2", vulnerable.digest}, {hub.Domain + "/app:v3", clean.digest}}
	if len(ds) != len(want) {
		t.Fatalf("deployments %+v, want 2", ds)
	}
	for i, w := range want {
		if ds[i].Component != "web" || ds[i].Image != w.image || ds[i].Digest != w.digest {
			t.Errorf("deployment %d: %+v, want %s@%s", i, ds[i], w.image, w.digest)
		}
	}

	// The scans finish (scan on push), and the gate decides on them.
	scan := func(p *Platform, digest string) Scan {
		s, _ := p.ScanOf(context.Background(), digest)
		return s
	}
	eventually.True(t, "the scans of app:v2 and app:v3", func() bool {
		return scan(p, vulnerable.digest).Status == "Success" && scan(p, clean.digest).Status == "Success"
	})
	if s := scan(p, vulnerable.digest); s.Severity != "Critical" {
		t.Errorf("the Alpine image's scan: %+v, want Critical", s)
	}
	runtime := signIn(t, crane, host, tenant.Pull.Username, tenant.Pull.Password)
	if out, err := runtime.run(crane, "manifest", "--insecure", hub.Domain+"/app:v3"); err != nil {
		t.Errorf("the runtime robot's pull of the clean image: %v\n%s", err, out)
	}
	out, err := runtime.run(crane, "manifest", "--insecure", hub.Domain+"/app:v2")
	if err == nil || !strings.Contains(out, "PROJECTPOLICYVIOLATION") || !strings.Contains(out, "CVE-2022-48174") {
		t.Errorf("the runtime robot's pull of the vulnerable image: %v\n%s", err, out)
	}
	if out, err := runtime.run(crane, "push", "--insecure", clean.dir, hub.Domain+"/app:v4"); err == nil {
		t.Errorf("the pull-only robot pushed: %s", out)
	}

	// Exactly once, across a restart: the platform comes back on its data
	// and its consumer goes on from its cursor; once it has seen a later
	// push (its scan recorded), the redeployments are still the two.
	stop()
	p2, host2, _ := startPlatform(t, dataDir, people)
	later := ociLayout(t, randomImage(t))
	signIn(t, crane, host2, hub.Username, hub.Password).must(crane, "push", "--insecure", later.dir, host2+"/acme/tools:v2")
	eventually.True(t, "the scan of tools:v2 after the restart", func() bool { return scan(p2, later.digest).Status == "Success" })
	if ds := listDeployments(t, host2); len(ds) != 2 {
		t.Errorf("after a restart: deployments %+v, want the 2 from before", ds)
	}
}

// call sends a request to the platform's API with basic credentials
// ("user:password") and returns the body of the wanted status.
func call(t *testing.T, host, cred, method, path, body string, want int) []byte {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+host+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	user, pass, _ := strings.Cut(cred, ":")
	req.SetBasicAuth(user, pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, buf.String(), want)
	}
	return buf.Bytes()
}

// listDeployments reads acme's redeployments through the platform's API, as
// one of acme's people.
func listDeployments(t *testing.T, host string) []Deployment {
	t.Helper()
	var ds []Deployment
	if err := json.Unmarshal(call(t, host, "alice:alice-password", "GET", "/platform/tenants/acme/deployments", "", http.StatusOK), &ds); err != nil {
		t.Fatal(err)
	}
	return ds
}

// startPlatform runs a platform on a loopback port over dataDir until the
// test ends or stop is called.
func startPlatform(t *testing.T, dataDir string, people *People) (p *Platform, host string, stop func()) {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	host = ts.Listener.Addr().String()
	p, err := New(t.Context(), Config{DataDir: dataDir, Host: host, OSVDB: osvFixtures}, people)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	ts.Config.Handler = p.Handler()
	ts.Start()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		ts.Close()
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	t.Cleanup(stop)
	return p, host, stop
}
