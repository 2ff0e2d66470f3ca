package server

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/registry/naming"
)

const sitePassword = "admin-pw"

// site is a server with auth on, reached at host.
type site struct {
	host string
	api  string
	must func(method, path, body string, want int) string
	auth remote.Option
}

// startSite builds and serves a server in this process.
func startSite(t *testing.T, tune func(*Config)) *site {
	t.Helper()
	cfg := testConfig()
	cfg.DataDir = t.TempDir()
	cfg.Auth.AdminPassword = sitePassword
	cfg.Replication.Backoff, cfg.Replication.MaxBackoff = 50*time.Millisecond, 500*time.Millisecond
	if tune != nil {
		tune(&cfg)
	}
	return siteAt(t, serve(t, cfg))
}

// siteAt is the site served at host (in this process or another).
func siteAt(t *testing.T, host string) *site {
	api := "http://" + host + "/api/v2.0"
	return &site{host: host, api: api, must: adminCaller(t, api, sitePassword),
		auth: remote.WithAuth(&authn.Basic{Username: "admin", Password: sitePassword})}
}

func (s *site) ref(t *testing.T, r string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(s.host+"/"+r, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// push writes a random image of about size bytes and returns its digest.
func (s *site) push(t *testing.T, r string, size int64) v1.Hash {
	t.Helper()
	img, _ := random.Image(size, 1)
	if err := remote.Write(s.ref(t, r), img, s.auth); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return d
}

// sign pushes an OCI referrer of r's manifest (a signature) and a cosign
// tag-named attachment, and returns their digests.
func (s *site) sign(t *testing.T, repo string, d v1.Hash) (v1.Hash, v1.Hash) {
	t.Helper()
	desc, err := remote.Head(s.ref(t, repo+"@"+d.String()), s.auth)
	if err != nil {
		t.Fatal(err)
	}
	base, _ := random.Image(64, 1)
	sig := mutate.Subject(base, v1.Descriptor{MediaType: desc.MediaType, Digest: d, Size: desc.Size}).(v1.Image)
	sd, _ := sig.Digest()
	if err := remote.Write(s.ref(t, repo+"@"+sd.String()), sig, s.auth); err != nil {
		t.Fatal(err)
	}
	att, _ := random.Image(64, 1)
	ad, _ := att.Digest()
	if err := remote.Write(s.ref(t, repo+":"+naming.AttachmentTags(digest.Digest(d.String()))[0]), att, s.auth); err != nil {
		t.Fatal(err)
	}
	return sd, ad
}

// tags lists a repository's tags, sorted (nil when it has none).
func (s *site) tags(t *testing.T, repo string, opts ...remote.Option) []string {
	t.Helper()
	tags, err := remote.List(s.ref(t, repo+":x").Context(), opts...)
	if err != nil {
		return nil
	}
	slices.Sort(tags)
	return tags
}

// digest is the digest of r at the site ("" when missing).
func (s *site) digest(t *testing.T, r string, opts ...remote.Option) string {
	t.Helper()
	desc, err := remote.Head(s.ref(t, r), opts...)
	if err != nil {
		return ""
	}
	return desc.Digest.String()
}

// execution is the API's view of an execution.
type execution struct {
	ID         uint64 `json:"id"`
	Status     string `json:"status"`
	StatusText string `json:"status_text"`
	Trigger    string `json:"trigger"`
	Total      int    `json:"total"`
	Succeed    int    `json:"succeed"`
	Failed     int    `json:"failed"`
	InProgress int    `json:"in_progress"`
	Bytes      int64  `json:"bytes"`
	Artifacts  int    `json:"artifacts"`
}

// task is the API's view of a task.
type task struct {
	ID          uint64    `json:"id"`
	SrcResource string    `json:"src_resource"`
	DstResource string    `json:"dst_resource"`
	Operation   string    `json:"operation"`
	Status      string    `json:"status"`
	Attempts    int       `json:"attempts"`
	Bytes       int64     `json:"bytes"`
	StartTime   time.Time `json:"start_time"`
}

// run starts a manual execution of policy through the API, waits for its
// end and returns it with its tasks.
func (s *site) run(t *testing.T, policy string) (execution, []task) {
	t.Helper()
	defer func(start time.Time) { t.Logf("run %s took %v", policy, time.Since(start)) }(time.Now())
	code, body, loc := s.post(t, "/replication/executions", `{"policy_name":"`+policy+`"}`)
	if code != 201 || !strings.HasPrefix(loc, "/api/v2.0/replication/executions/") {
		t.Fatalf("start %s: %d %s (Location %q)", policy, code, body, loc)
	}
	return s.wait(t, strings.TrimPrefix(loc, "/api/v2.0"))
}

// post is a POST as the admin that also returns the Location header.
func (s *site) post(t *testing.T, path, body string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest("POST", s.api+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("admin", sitePassword)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Header.Get("Location")
}

// wait polls an execution (its API path) until it ends.
func (s *site) wait(t *testing.T, path string) (execution, []task) {
	t.Helper()
	var e execution
	eventually.True(t, "execution "+path+" to end", func() bool {
		_ = json.Unmarshal([]byte(s.must("GET", path, "", 200)), &e)
		return e.Status == "Succeed" || e.Status == "Failed" || e.Status == "Stopped"
	})
	var ts []task
	if err := json.Unmarshal([]byte(s.must("GET", path+"/tasks?page_size=100", "", 200)), &ts); err != nil {
		t.Fatal(err)
	}
	return e, ts
}

// endpoint registers other as a registry endpoint named name at s.
func (s *site) endpoint(name, host string, withCredentials bool) {
	cred := ""
	if withCredentials {
		cred = `,"credential":{"type":"basic","access_key":"admin","access_secret":"` + sitePassword + `"}`
	}
	s.must("POST", "/registries", `{"name":"`+name+`","type":"berth","url":"http://`+host+`"`+cred+`}`, 201)
}

// TestReplicationBetweenServers: two servers; push mode with
// filters copies exactly the matching tags with their signatures, pull
// mode likewise, each through the admin API; the execution, its tasks
// and their logs are served; a second run copies nothing; a REPLICATION
// webhook reports each execution.
func TestReplicationBetweenServers(t *testing.T) {
	hook := startReceiver(t, 200)
	a, b := startSite(t, nil), startSite(t, nil)
	for _, p := range []string{"team", "other"} {
		a.must("POST", "/projects", `{"project_name":"`+p+`"}`, 201)
	}
	for _, p := range []string{"mirror", "cache"} {
		b.must("POST", "/projects", `{"project_name":"`+p+`"}`, 201)
	}
	a.must("POST", "/webhook/policies", `{"name":"repl","event_types":["REPLICATION"],"enabled":true,"targets":[{"type":"http","address":"`+hook.url+`"}]}`, 201)
	v1d := a.push(t, "team/app:v1", 4096)
	sd, ad := a.sign(t, "team/app", v1d)
	a.push(t, "team/app:v2-rc1", 1024)
	latest := a.push(t, "team/app:latest", 1024)
	dbd := a.push(t, "team/db:v2", 2048)
	a.push(t, "other/tool:v1", 1024)

	a.endpoint("b", b.host, true)
	a.must("POST", "/registries/ping", `{"name":"b"}`, 200)
	a.must("POST", "/replication/policies", `{"name":"to-b","dest_registry":{"name":"b"},"dest_namespace":"mirror","dest_namespace_replace_count":1,
		"filters":[{"type":"name","value":"team/**"},{"type":"tag","value":"v*"},{"type":"tag","value":"*-rc*","decoration":"excludes"}],
		"trigger":{"type":"manual"},"enabled":true}`, 201)
	e, tasks := a.run(t, "to-b")
	if e.Status != "Succeed" || e.Total != 2 || e.Succeed != 2 || e.Bytes == 0 {
		t.Fatalf("push execution %+v", e)
	}
	var srcs []string
	for _, tk := range tasks {
		srcs = append(srcs, tk.SrcResource)
		if tk.Status != "Succeed" || tk.Operation != "copy" {
			t.Errorf("task %+v", tk)
		}
	}
	slices.Sort(srcs)
	if !slices.Equal(srcs, []string{"team/app:v1", "team/db:v2"}) {
		t.Errorf("tasks for %v, want team/app:v1 and team/db:v2", srcs)
	}
	log := a.must("GET", fmt.Sprintf("/replication/executions/%d/tasks/%d/log", e.ID, tasks[0].ID), "", 200)
	if !strings.Contains(log, "copied") || !strings.Contains(log, "done") {
		t.Errorf("task log: %s", log)
	}
	if got := b.tags(t, "mirror/app", b.auth); !slices.Equal(got, []string{"sha256-" + v1d.Hex + ".sig", "v1"}) {
		t.Errorf("mirror/app tags at b: %v", got)
	}
	if got := b.tags(t, "mirror/db", b.auth); !slices.Equal(got, []string{"v2"}) {
		t.Errorf("mirror/db tags at b: %v", got)
	}
	if b.digest(t, "mirror/app:v1", b.auth) != v1d.String() || b.digest(t, "mirror/db:v2", b.auth) != dbd.String() {
		t.Error("digests differ at the destination")
	}
	for _, d := range []v1.Hash{sd, ad} {
		if b.digest(t, "mirror/app@"+d.String(), b.auth) != d.String() {
			t.Errorf("signature %s not replicated", d)
		}
	}
	refs, err := remote.Referrers(b.ref(t, "mirror/app@"+v1d.String()).Context().Digest(v1d.String()), b.auth)
	if err != nil {
		t.Fatal(err)
	}
	if im, _ := refs.IndexManifest(); len(im.Manifests) != 1 || im.Manifests[0].Digest != sd {
		t.Errorf("referrers at b: %+v", im)
	}
	if got := b.tags(t, "mirror/tool", b.auth); got != nil {
		t.Errorf("other/tool replicated: %v", got)
	}
	again, againTasks := a.run(t, "to-b")
	if again.Status != "Succeed" || again.Artifacts != 0 || len(againTasks) != 2 {
		t.Errorf("second run %+v, want nothing copied", again)
	}

	// Pull mode: b pulls team/app's latest and v1 (with its signatures)
	// from a into cache/.
	b.endpoint("a", a.host, true)
	b.must("POST", "/replication/policies", `{"name":"from-a","src_registry":{"name":"a"},"dest_namespace":"cache","dest_namespace_replace_count":1,
		"filters":[{"type":"name","value":"team/app"},{"type":"tag","value":"{latest,v1}"}],"trigger":{"type":"manual"},"enabled":true}`, 201)
	pe, ptasks := b.run(t, "from-a")
	if pe.Status != "Succeed" || pe.Total != 2 || len(ptasks) != 2 {
		t.Fatalf("pull execution %+v %+v", pe, ptasks)
	}
	if got := b.tags(t, "cache/app", b.auth); !slices.Equal(got, []string{"latest", "sha256-" + v1d.Hex + ".sig", "v1"}) {
		t.Errorf("cache/app tags at b: %v", got)
	}
	if b.digest(t, "cache/app:latest", b.auth) != latest.String() || b.digest(t, "cache/app:v1", b.auth) != v1d.String() ||
		b.digest(t, "cache/app@"+sd.String(), b.auth) != sd.String() {
		t.Error("pulled digests differ, or the signature was not pulled")
	}

	eventually.True(t, "REPLICATION webhooks", func() bool { return hook.count() >= 2 })
	body, _ := hook.last()
	var p struct {
		Type      string
		EventData struct {
			Custom map[string]string `json:"custom_attributes"`
		} `json:"event_data"`
	}
	if err := json.Unmarshal(body, &p); err != nil || p.Type != "REPLICATION" || p.EventData.Custom["policy"] != "to-b" || p.EventData.Custom["status"] != "Succeed" {
		t.Errorf("REPLICATION webhook %s (%v)", body, err)
	}
}

// startDistribution runs CNCF Distribution (built from the Go module
// proxy by scripts/tools.sh) on a free loopback port until the test ends.
func startDistribution(t *testing.T) string {
	t.Helper()
	return startDistributionWith(t, "")
}

// startDistributionWith is startDistribution with htpasswd auth when
// htpasswd (the file's content) is not empty.
func startDistributionWith(t *testing.T, htpasswd string) string {
	t.Helper()
	root, _ := filepath.Abs("..")
	if out, err := exec.Command(filepath.Join(root, "scripts/tools.sh"), "distribution").CombinedOutput(); err != nil {
		t.Fatalf("scripts/tools.sh distribution: %v\n%s", err, out)
	}
	dir, addr := t.TempDir(), freeAddr(t)
	cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n", dir, addr)
	if htpasswd != "" {
		if err := os.WriteFile(filepath.Join(dir, "htpasswd"), []byte(htpasswd), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg += fmt.Sprintf("auth:\n  htpasswd:\n    realm: berth-test\n    path: %s\n", filepath.Join(dir, "htpasswd"))
	}
	if err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(root, ".tools/bin/registry"), "serve", filepath.Join(dir, "config.yml"))
	logFile, err := os.Create(filepath.Join(dir, "registry.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile // it logs every 404 as an error
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = logFile.Close()
		if t.Failed() {
			out, _ := os.ReadFile(logFile.Name())
			t.Logf("distribution's log:\n%s", out)
		}
	})
	eventually.True(t, "distribution to answer", func() bool {
		res, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			res.Body.Close()
		}
		return err == nil // 401 with htpasswd: it answers
	})
	return addr
}

// TestReplicationWithDistribution: CNCF Distribution as a third-party
// endpoint: an image with its signature and a multi-arch index pushed
// there, then pulled back into another namespace, digests equal.
func TestReplicationWithDistribution(t *testing.T) {
	dist := startDistribution(t)
	a := startSite(t, nil)
	for _, p := range []string{"team", "back"} {
		a.must("POST", "/projects", `{"project_name":"`+p+`"}`, 201)
	}
	d := a.push(t, "team/app:v1", 2048)
	sd, _ := a.sign(t, "team/app", d)
	idx, _ := random.Index(512, 1, 3)
	if err := remote.WriteIndex(a.ref(t, "team/app:multi"), idx, a.auth); err != nil {
		t.Fatal(err)
	}
	xd, _ := idx.Digest()
	a.endpoint("dist", dist, false)
	a.must("POST", "/registries/ping", `{"name":"dist"}`, 200)
	a.must("POST", "/replication/policies", `{"name":"to-dist","dest_registry":{"name":"dist"},"trigger":{"type":"manual"},"enabled":true}`, 201)
	e, _ := a.run(t, "to-dist")
	if e.Status != "Succeed" || e.Total != 2 {
		t.Fatalf("push to distribution %+v", e)
	}
	ds := siteAt(t, dist)
	if ds.digest(t, "team/app:v1") != d.String() || ds.digest(t, "team/app:multi") != xd.String() || ds.digest(t, "team/app@"+sd.String()) != sd.String() {
		t.Error("distribution lacks the image, the index or the signature")
	}
	im, _ := idx.IndexManifest()
	for _, m := range im.Manifests {
		if ds.digest(t, "team/app@"+m.Digest.String()) != m.Digest.String() {
			t.Errorf("index child %s not at distribution", m.Digest)
		}
	}
	a.must("POST", "/replication/policies", `{"name":"from-dist","src_registry":{"name":"dist"},"dest_namespace":"back","dest_namespace_replace_count":1,
		"filters":[{"type":"tag","value":"multi"}],"trigger":{"type":"manual"},"enabled":true}`, 201)
	pe, _ := a.run(t, "from-dist")
	if pe.Status != "Succeed" || pe.Total != 1 || a.digest(t, "back/app:multi", a.auth) != xd.String() {
		t.Errorf("pull from distribution %+v", pe)
	}
}

// TestReplicationIntoImmutableTags: replication writes through the same
// policies as a push, even with override on. A pull into a project whose
// v* tags are immutable creates v1; a new signature of v1's image still
// arrives (its .sig tag moves: attachments are never immutable); once the
// source moved v1 to another image, the task fails at once (412 is not
// retried) and v1 stays where it was. A push replication into such a
// project at the other server is refused the same way.
func TestReplicationIntoImmutableTags(t *testing.T) {
	a, b := startSite(t, nil), startSite(t, nil)
	a.must("POST", "/projects", `{"project_name":"team"}`, 201)
	rule := `{"action":"immutable","template":"immutable_template",
		"tag_selectors":[{"kind":"doublestar","decoration":"matches","pattern":"v*"}],
		"scope_selectors":{"repository":[{"kind":"doublestar","decoration":"repoMatches","pattern":"**"}]}}`
	for _, p := range []string{"cache", "mirror"} {
		b.must("POST", "/projects", `{"project_name":"`+p+`"}`, 201)
		b.must("POST", "/projects/"+p+"/immutabletagrules", rule, 201)
	}
	old := a.push(t, "team/app:v1", 2048)
	a.sign(t, "team/app", old)

	b.endpoint("a", a.host, true)
	b.must("POST", "/replication/policies", `{"name":"from-a","src_registry":{"name":"a"},"dest_namespace":"cache","dest_namespace_replace_count":1,
		"filters":[{"type":"name","value":"team/app"},{"type":"tag","value":"v1"}],"trigger":{"type":"manual"},"override":true,"enabled":true}`, 201)
	if e, _ := b.run(t, "from-a"); e.Status != "Succeed" || b.digest(t, "cache/app:v1", b.auth) != old.String() {
		t.Fatalf("first pull %+v: cache/app:v1 at %s", e, b.digest(t, "cache/app:v1", b.auth))
	}
	_, newSig := a.sign(t, "team/app", old) // a new .sig manifest under v1's attachment tag
	if e, _ := b.run(t, "from-a"); e.Status != "Succeed" {
		t.Fatalf("pull of the new signature %+v", e)
	}
	if got := b.digest(t, "cache/app:sha256-"+old.Hex+".sig", b.auth); got != newSig.String() {
		t.Errorf("attachment tag at %s, want the new signature %s", got, newSig)
	}

	moved := a.push(t, "team/app:v1", 1024)
	e, tasks := b.run(t, "from-a")
	if e.Status != "Failed" || len(tasks) != 1 || tasks[0].Status != "Failed" || tasks[0].Attempts != 1 {
		t.Fatalf("pull of the moved tag: %+v %+v, want one failed attempt", e, tasks)
	}
	if got := b.digest(t, "cache/app:v1", b.auth); got != old.String() {
		t.Fatalf("cache/app:v1 at %s after the refused pull, want %s (not %s)", got, old, moved)
	}
	log := b.must("GET", fmt.Sprintf("/replication/executions/%d/tasks/%d/log", e.ID, tasks[0].ID), "", 200)
	if !strings.Contains(log, "immutable") {
		t.Errorf("task log does not say why: %s", log)
	}

	// Push mode into b's immutable project.
	a.endpoint("b", b.host, true)
	a.must("POST", "/projects", `{"project_name":"src"}`, 201)
	a.push(t, "src/app:v1", 1024)
	a.must("POST", "/replication/policies", `{"name":"to-b","dest_registry":{"name":"b"},"dest_namespace":"mirror","dest_namespace_replace_count":1,
		"filters":[{"type":"name","value":"src/app"},{"type":"tag","value":"v1"}],"trigger":{"type":"manual"},"override":true,"enabled":true}`, 201)
	if e, _ := a.run(t, "to-b"); e.Status != "Succeed" {
		t.Fatalf("first push %+v", e)
	}
	kept := b.digest(t, "mirror/app:v1", b.auth)
	a.push(t, "src/app:v1", 512)
	if e, _ := a.run(t, "to-b"); e.Status != "Failed" {
		t.Errorf("push of the moved tag %+v, want Failed", e)
	}
	if got := b.digest(t, "mirror/app:v1", b.auth); got != kept {
		t.Errorf("mirror/app:v1 at %s after the refused push, want %s", got, kept)
	}
}
