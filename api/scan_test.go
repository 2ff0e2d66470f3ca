package api

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/auth/rbac"
	"github.com/berthreg/berth/gc"
	"github.com/berthreg/berth/internal/testjobs"
	"github.com/berthreg/berth/internal/testscan"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/scan"
	"github.com/berthreg/berth/scan/engine"
	"github.com/berthreg/berth/scan/pluggable"
)

// metaScanner is a scanner that only describes itself: the API's tests
// register it and ask for its metadata; no scan runs (no job runner).
type metaScanner struct{ name string }

func (s metaScanner) Metadata(context.Context) (scan.Metadata, error) {
	return scan.Metadata{Scanner: scan.Info{Name: s.name, Vendor: "tests", Version: "1"},
		Capabilities: []scan.Capability{{Type: scan.CapabilityVulnerability, ConsumesMimeTypes: []string{scan.MimeOCIManifest},
			ProducesMimeTypes: []string{scan.MimeVulnReport}}}}, nil
}

func (metaScanner) Scan(context.Context, scan.Request) (string, error) {
	return "", scan.ErrUnsupported
}

func (metaScanner) Report(context.Context, string, string, string) ([]byte, error) {
	return nil, scan.ErrUnknownScan
}

type scanEnv struct {
	store  meta.Store
	engine *engine.Engine
	queue  *jobs.Queue
	admin  client
	alice  client
	anon   client
}

// newScanAPI serves the API with an engine whose built-in scanner is
// "builtin", whose guard lets loopback adapters in, and opts.
func newScanAPI(t *testing.T, opts ...engine.Option) *scanEnv {
	t.Helper()
	store := openStore(t)
	env := &scanEnv{store: store}
	runner := testjobs.Runner(t, store)
	env.queue = testjobs.Queue(t, store)
	var err error
	env.engine, err = engine.New(store, append([]engine.Option{engine.WithQueue(env.queue),
		engine.WithBuiltin("builtin", metaScanner{"berth"}), engine.WithGuard(loopbackAllowed)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	schedules, err := jobs.NewSchedules(store, []jobs.ScheduledJob{gc.ScheduledJob(), engine.ScanAllJob()}, jobs.WithScheduler(runner))
	if err != nil {
		t.Fatal(err)
	}
	url, m := newAPIOn(t, store, WithScanning(env.engine), WithSchedules(schedules), WithJobs(env.queue))
	ctx := context.Background()
	admin := auth.Principal{Name: "admin", Kind: auth.User, Admin: true}
	for _, p := range []string{"team", "other"} {
		if err := m.CreateProject(ctx, admin, p, false); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.AddMember(ctx, admin, "team", "user", "alice", rbac.Developer); err != nil {
		t.Fatal(err)
	}
	env.admin = client{t, url, "admin", "admin-password"}
	env.alice = client{t, url, "alice", "alice-password"}
	env.anon = client{t: t, url: url}
	return env
}

// adapter serves a scanner as a Harbor adapter requiring a bearer token.
func adapter(t *testing.T, s scan.Scanner, token string) string {
	srv := httptest.NewServer(testscan.Server(t, s, pluggable.WithRequiredAuthorization("Bearer "+token)))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestScannerRegistrations(t *testing.T) {
	env := newScanAPI(t)
	url := adapter(t, metaScanner{"Trivy"}, "s3cret")
	var list []scannerJSON
	_, out := env.admin.want("GET", "/scanners", "", 200, "")
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 || !list[0].BuiltIn || !list[0].IsDefault || list[0].Name != "builtin" {
		t.Fatalf("scanners at start: %s", out)
	}
	env.alice.want("GET", "/scanners", "", 403, "FORBIDDEN")
	env.admin.want("POST", "/scanners", `{"name":"trivy","url":"ftp://x"}`, 400, "BAD_REQUEST")
	_, out = env.admin.want("POST", "/scanners", `{"name":"trivy","url":"`+url+`","auth":"Magic"}`, 400, "BAD_REQUEST")
	if !strings.Contains(out, "auth:") {
		t.Errorf("a bad auth names no field: %s", out)
	}
	_, out = env.admin.want("POST", "/scanners", `{"name":"trivy","url":"`+url+`","auth":"Bearer"}`, 400, "BAD_REQUEST")
	if !strings.Contains(out, "access_credential") {
		t.Errorf("a missing credential names no field: %s", out)
	}
	env.admin.want("POST", "/scanners", `{"name":"builtin","url":"`+url+`"}`, 400, "BAD_REQUEST")
	env.admin.want("POST", "/scanners/ping", `{"name":"trivy","url":"`+url+`","auth":"Bearer","access_credential":"wrong"}`, 400, "BAD_REQUEST")
	env.admin.want("POST", "/scanners/ping", `{"name":"trivy","url":"`+url+`","auth":"Bearer","access_credential":"s3cret"}`, 200, "")
	env.admin.want("POST", "/scanners", `{"name":"trivy","url":"`+url+`","auth":"Bearer","access_credential":"s3cret"}`, 201, "")
	env.admin.want("POST", "/scanners", `{"name":"trivy","url":"`+url+`"}`, 409, "CONFLICT")
	_, out = env.admin.want("GET", "/scanners/trivy", "", 200, "")
	if strings.Contains(out, "s3cret") || !strings.Contains(out, `"auth":"Bearer"`) || !strings.Contains(out, `"is_default":false`) {
		t.Errorf("a registration: %s", out)
	}
	_, out = env.admin.want("GET", "/scanners/trivy/metadata", "", 200, "")
	if !strings.Contains(out, `"name":"Trivy"`) {
		t.Errorf("metadata through the adapter: %s", out)
	}
	// PUT without access_credential keeps it: the adapter still answers.
	env.admin.want("PUT", "/scanners/trivy", `{"url":"`+url+`","auth":"Bearer","description":"the Trivy adapter"}`, 200, "")
	env.admin.want("GET", "/scanners/trivy/metadata", "", 200, "")
	env.admin.want("PUT", "/scanners/builtin", `{"url":"`+url+`"}`, 400, "BAD_REQUEST")
	env.admin.want("PATCH", "/scanners/trivy", `{"is_default":true}`, 200, "")
	env.admin.want("PATCH", "/scanners/nope", `{"is_default":true}`, 404, "NOT_FOUND")
	_, out = env.admin.want("GET", "/scanners", "", 200, "")
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 2 || list[0].IsDefault || !list[1].IsDefault || list[1].Description != "the Trivy adapter" {
		t.Errorf("after PATCH: %s", out)
	}
	env.admin.want("DELETE", "/scanners/trivy", "", 409, "CONFLICT")
	env.admin.want("DELETE", "/scanners/builtin", "", 403, "FORBIDDEN")

	// A project picks its scanner; project members see which.
	_, out = env.alice.want("GET", "/projects/team/scanner", "", 200, "")
	if !strings.Contains(out, `"name":"trivy"`) || strings.Contains(out, url) {
		t.Errorf("the project's scanner (the default): %s", out)
	}
	env.alice.want("PUT", "/projects/team/scanner", `{"uuid":"builtin"}`, 403, "FORBIDDEN")
	env.admin.want("PUT", "/projects/team/scanner", `{"uuid":"nope"}`, 400, "BAD_REQUEST")
	env.admin.want("PUT", "/projects/team/scanner", `{"uuid":"builtin"}`, 200, "")
	_, out = env.alice.want("GET", "/projects/team/scanner", "", 200, "")
	if !strings.Contains(out, `"name":"builtin"`) {
		t.Errorf("the project's chosen scanner: %s", out)
	}
	env.admin.want("PATCH", "/scanners/builtin", `{"is_default":true}`, 200, "")
	env.admin.want("DELETE", "/scanners/trivy", "", 200, "")
	env.admin.want("GET", "/scanners/trivy", "", 404, "NOT_FOUND")
}

func TestProjectScanSettings(t *testing.T) {
	env := newScanAPI(t)
	exp := time.Now().Add(48 * time.Hour).Unix()
	body := `{"metadata":{"auto_scan":"true","prevent_vul":"true","severity":"high","prevent_unscanned":"true"},
		"cve_allowlist":{"expires_at":` + jsonInt(exp) + `,"items":[{"cve_id":"CVE-2023-5363"},{"cve_id":"CVE-2024-0727","expires_at":1}]}}`
	env.alice.want("PUT", "/projects/team", body, 403, "FORBIDDEN")
	env.admin.want("PUT", "/projects/team", body, 200, "")
	var proj accounts.Project
	if err := env.store.View(context.Background(), func(tx meta.Tx) error {
		var err error
		proj, err = accounts.Projects.In(tx).Get("team")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	ps := proj.Scan
	if !ps.AutoScan || !ps.PreventVulnerable || ps.Severity != "High" || !ps.DenyUnscanned || len(ps.Allowlist) != 2 ||
		ps.Allowlist[0].ExpiresAt.Unix() != exp || ps.Allowlist[1].ExpiresAt.Unix() != 1 {
		t.Errorf("stored settings: %+v", ps)
	}
	_, out := env.alice.want("GET", "/projects/team", "", 200, "")
	for _, want := range []string{`"auto_scan":"true"`, `"prevent_vul":"true"`, `"severity":"high"`, `"prevent_unscanned":"true"`, `"cve_id":"CVE-2023-5363"`} {
		if !strings.Contains(out, want) {
			t.Errorf("GET project lacks %s: %s", want, out)
		}
	}
	// Fields the request omits stay; bad values name their field.
	env.admin.want("PUT", "/projects/team", `{"metadata":{"auto_scan":"false"}}`, 200, "")
	for body, field := range map[string]string{
		`{"metadata":{"severity":"scary"}}`:                            "metadata.severity",
		`{"metadata":{"prevent_vul":"yes please"}}`:                    "metadata.prevent_vul",
		`{"cve_allowlist":{"items":[{"cve_id":" "}]}}`:                 "cve_allowlist.items[0].cve_id",
		`{"cve_allowlist":{"items":[{"cve_id":"x","expires_at":-5}]}}`: "cve_allowlist.items[0].expires_at",
	} {
		_, out := env.admin.want("PUT", "/projects/team", body, 400, "BAD_REQUEST")
		if !strings.Contains(out, field) {
			t.Errorf("%s: %s does not name %s", body, out, field)
		}
	}
	_ = env.store.View(context.Background(), func(tx meta.Tx) error { proj, _ = accounts.Projects.In(tx).Get("team"); return nil })
	if proj.Scan.AutoScan || !proj.Scan.PreventVulnerable || len(proj.Scan.Allowlist) != 2 {
		t.Errorf("after a partial update: %+v", proj.Scan)
	}
	env.admin.want("POST", "/projects", `{"project_name":"scanned","metadata":{"auto_scan":"true"}}`, 201, "")
	_ = env.store.View(context.Background(), func(tx meta.Tx) error { proj, _ = accounts.Projects.In(tx).Get("scanned"); return nil })
	if !proj.Scan.AutoScan {
		t.Errorf("a project created with auto_scan: %+v", proj.Scan)
	}
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestArtifactScans(t *testing.T) {
	env := newScanAPI(t)
	img := digest.FromString("image")
	sig := digest.FromString("signature")
	if err := env.store.Update(context.Background(), func(tx meta.Tx) error {
		if _, _, err := tx.Repositories().Ensure("team/tools/app"); err != nil {
			return err
		}
		if err := tx.Manifests().Put("team/tools/app", meta.Manifest{Digest: img, MediaType: scan.MimeOCIManifest, Size: 500,
			Config: meta.Descriptor{MediaType: "application/vnd.oci.image.config.v1+json", Digest: digest.FromString("c"), Size: 2}}); err != nil {
			return err
		}
		if err := tx.Manifests().Put("team/tools/app", meta.Manifest{Digest: sig, MediaType: scan.MimeOCIManifest, Size: 400, Subject: img,
			Config: meta.Descriptor{MediaType: "application/vnd.oci.empty.v1+json", Digest: digest.FromString("{}"), Size: 2}}); err != nil {
			return err
		}
		return tx.Tags().Put("team/tools/app", "v1", img)
	}); err != nil {
		t.Fatal(err)
	}
	base := "/projects/team/repositories/tools%252Fapp/artifacts/"
	env.anon.want("POST", base+"v1/scan", "", 404, "NOT_FOUND") // a private project is not shown
	env.admin.want("POST", base+"v9/scan", "", 404, "NOT_FOUND")
	env.admin.want("POST", base+sig.String()+"/scan", "", 400, "BAD_REQUEST")
	env.admin.want("POST", base+"v1/scan", `{"scan_type":"mystery"}`, 400, "BAD_REQUEST")
	env.alice.want("POST", base+"v1/scan", `{"scan_type":"vulnerability"}`, 202, "")
	// A second request while the first waits queues nothing more.
	env.admin.want("POST", "/projects/team/repositories/tools%2Fapp/artifacts/"+img.String()+"/scan", "", 202, "")
	js, err := env.queue.List(context.Background(), meta.JobFilter{Kind: engine.ScanKind}, 0, 0)
	if err != nil || len(js) != 1 {
		t.Errorf("scan jobs %v (%v), want 1", js, err)
	}
	_, out := env.alice.want("GET", base+"v1", "", 200, "")
	var a artifactJSON
	if err := json.Unmarshal([]byte(out), &a); err != nil || a.Digest != img.String() || len(a.Tags) != 1 || a.Tags[0].Name != "v1" ||
		a.RepositoryName != "team/tools/app" || a.ScanOverview[scan.MimeVulnReport].ScanStatus != "Pending" {
		t.Errorf("the artifact: %s", out)
	}
	_, out = env.alice.want("GET", base+"v1/additions/vulnerabilities", "", 200, "")
	if strings.TrimSpace(out) != "{}" {
		t.Errorf("vulnerabilities before any report: %s", out)
	}
	env.anon.want("GET", "/projects/other/repositories/x/artifacts/v1", "", 404, "NOT_FOUND")
}

func TestScanAllSchedule(t *testing.T) {
	env := newScanAPI(t)
	env.alice.want("GET", "/system/scanAll/schedule", "", 403, "FORBIDDEN")
	_, out := env.admin.want("GET", "/system/scanAll/schedule", "", 200, "")
	if !strings.Contains(out, `"type":"None"`) {
		t.Errorf("no schedule at start: %s", out)
	}
	env.admin.want("PUT", "/system/scanAll/schedule", `{"schedule":{"type":"Custom","cron":"not cron"}}`, 400, "BAD_REQUEST")
	env.admin.want("PUT", "/system/scanAll/schedule", `{"schedule":{"type":"Daily"}}`, 200, "")
	_, out = env.admin.want("GET", "/system/scanAll/schedule", "", 200, "")
	if !strings.Contains(out, `"cron":"0 0 0 * * *"`) || !strings.Contains(out, "next_scheduled_time") {
		t.Errorf("the daily schedule: %s", out)
	}
	resp, _ := env.admin.want("POST", "/system/scanAll/schedule", `{"schedule":{"type":"Manual"}}`, 201, "")
	js, err := env.queue.List(context.Background(), meta.JobFilter{Kind: engine.AllKind}, 0, 0)
	if err != nil || len(js) != 1 || resp.Header.Get("Location") != Prefix+jobPath(js[0].ID) {
		t.Errorf("a manual scan-all: jobs %v (%v), Location %q", js, err, resp.Header.Get("Location"))
	}
}

// TestScanErrorsSameFromGo: a Go caller of the scan services and an API
// caller get the same refusals, with the same messages.
func TestScanErrorsSameFromGo(t *testing.T) {
	env := newScanAPI(t)
	ctx := context.Background()
	url := adapter(t, metaScanner{"Trivy"}, "s3cret")
	regs := env.engine.Registrations()
	settings := engine.NewProjectSettings(env.store)
	if err := regs.Create(ctx, engine.ScannerSpec{Name: "trivy", URL: url, Default: true}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		method, path, body string
		status             int
		code               string
		goErr              error
	}{
		{"POST", "/scanners", `{"name":"t","url":"ftp://x"}`, 400, "BAD_REQUEST",
			regs.Create(ctx, engine.ScannerSpec{Name: "t", URL: "ftp://x"})},
		{"POST", "/scanners", `{"name":"a b","url":"` + url + `"}`, 400, "BAD_REQUEST",
			regs.Create(ctx, engine.ScannerSpec{Name: "a b", URL: url})},
		{"POST", "/scanners", `{"name":"t","url":"` + url + `","auth":"Bearer"}`, 400, "BAD_REQUEST",
			regs.Create(ctx, engine.ScannerSpec{Name: "t", URL: url, Auth: "Bearer"})},
		{"POST", "/scanners", `{"name":"trivy","url":"` + url + `"}`, 409, "CONFLICT",
			regs.Create(ctx, engine.ScannerSpec{Name: "trivy", URL: url})},
		{"GET", "/scanners/nope", "", 404, "NOT_FOUND", func() error { _, err := regs.Get(ctx, "nope"); return err }()},
		{"PUT", "/scanners/builtin", `{"url":"` + url + `"}`, 400, "BAD_REQUEST",
			regs.Update(ctx, engine.ScannerSpec{Name: "builtin", URL: url})},
		{"PATCH", "/scanners/nope", `{"is_default":true}`, 404, "NOT_FOUND", regs.SetDefault(ctx, "nope")},
		{"DELETE", "/scanners/builtin", "", 403, "FORBIDDEN", func() error { _, err := regs.Delete(ctx, "builtin"); return err }()},
		{"DELETE", "/scanners/trivy", "", 409, "CONFLICT", func() error { _, err := regs.Delete(ctx, "trivy"); return err }()},
		{"POST", "/scanners/ping", `{"name":"p","url":"` + url + `","auth":"Bearer","access_credential":"wrong"}`, 400, "BAD_REQUEST",
			func() error {
				_, err := env.engine.Ping(ctx, engine.ScannerSpec{Name: "p", URL: url, Auth: "Bearer", AccessCredential: new("wrong")})
				return err
			}()},
		{"PUT", "/projects/team/scanner", `{"uuid":"nope"}`, 400, "BAD_REQUEST", regs.SetForProject(ctx, "team", "nope")},
		{"PUT", "/projects/team", `{"metadata":{"severity":"scary"}}`, 400, "BAD_REQUEST",
			settings.Update(ctx, "team", engine.SettingsChange{Severity: new("scary")})},
		{"PUT", "/projects/team", `{"cve_allowlist":{"items":[{"cve_id":"x"},{"cve_id":" "}]}}`, 400, "BAD_REQUEST",
			settings.Update(ctx, "team", engine.SettingsChange{Allowlist: &[]accounts.AllowedVulnerability{{ID: "x"}, {ID: " "}}})},
	} {
		if c.goErr == nil {
			t.Errorf("%s %s: the Go call succeeded", c.method, c.path)
			continue
		}
		_, out := env.admin.want(c.method, c.path, c.body, c.status, c.code)
		var answer struct {
			Errors []struct{ Message string } `json:"errors"`
		}
		if err := json.Unmarshal([]byte(out), &answer); err != nil || len(answer.Errors) != 1 {
			t.Fatalf("%s %s: %s", c.method, c.path, out)
		}
		if got := answer.Errors[0].Message; got != c.goErr.Error() {
			t.Errorf("%s %s: the API says %q, Go %q", c.method, c.path, got, c.goErr.Error())
		}
	}
}
