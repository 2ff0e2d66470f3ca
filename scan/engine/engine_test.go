package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/internal/testbolt"
	"github.com/berthreg/berth/internal/testjobs"
	"github.com/berthreg/berth/internal/testreg"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/bolt"
	"github.com/berthreg/berth/registry"
	"github.com/berthreg/berth/registry/inproc"
	"github.com/berthreg/berth/registrytest"
	"github.com/berthreg/berth/scan"
	"github.com/berthreg/berth/storage"
	"github.com/berthreg/berth/storage/memory"
)

// testScanner is a scan.Scanner for the engine's tests: it reports the
// vulnerabilities set for a digest (none by default), is not ready at
// the first poll of each scan, fails while fail is set, and records
// every request.
type testScanner struct {
	mu     sync.Mutex
	vulns  map[string][]scan.Vulnerability
	fail   error
	reqs   []scan.Request
	polled map[string]bool
}

func (s *testScanner) Metadata(context.Context) (scan.Metadata, error) {
	return scan.Metadata{Scanner: scan.Info{Name: "test", Vendor: "berth tests", Version: "1.0"},
		Capabilities: []scan.Capability{
			{Type: scan.CapabilityVulnerability, ConsumesMimeTypes: []string{scan.MimeOCIManifest, scan.MimeDockerManifest}, ProducesMimeTypes: []string{scan.MimeVulnReport}},
			{Type: scan.CapabilitySBOM, ConsumesMimeTypes: []string{scan.MimeOCIManifest, scan.MimeDockerManifest}, ProducesMimeTypes: []string{scan.MimeSBOMReport},
				AdditionalAttributes: map[string][]string{"sbom_media_types": {scan.MimeCycloneDX, scan.MimeSPDX}}},
		}}, nil
}

func (s *testScanner) Scan(_ context.Context, req scan.Request) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return "", s.fail
	}
	s.reqs = append(s.reqs, req)
	return fmt.Sprint(len(s.reqs) - 1), nil
}

func (s *testScanner) Report(_ context.Context, id, mimeType, sbomType string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.polled == nil {
		s.polled = map[string]bool{}
	}
	if !s.polled[id+mimeType] {
		s.polled[id+mimeType] = true
		return nil, &scan.NotReady{RetryAfter: 10 * time.Millisecond}
	}
	n, err := strconv.Atoi(id)
	if err != nil || n < 0 || n >= len(s.reqs) {
		return nil, scan.ErrUnknownScan
	}
	req := s.reqs[n]
	if mimeType == scan.MimeSBOMReport {
		return json.Marshal(scan.SBOMReport{Artifact: req.Artifact, MediaType: sbomType,
			SBOM: map[string]any{"spdxVersion": "SPDX-2.3", "name": req.Artifact.Digest}})
	}
	vs := s.vulns[req.Artifact.Digest]
	return json.Marshal(scan.VulnerabilityReport{GeneratedAt: time.Now(), Artifact: req.Artifact,
		Scanner: scan.Info{Name: "test", Version: "1.0"}, Severity: scan.Highest(vs), Vulnerabilities: vs})
}

func (s *testScanner) requests() []scan.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs)
}

// rig is a registry recording events with the gate on its pulls, an
// engine with the test scanner, a job runner and scan-on-push.
type rig struct {
	t       *testing.T
	reg     *registrytest.Server
	eng     *Engine
	scanner *testScanner
	gate    *Gate
}

// newRig starts a registry (registrytest's, or one over driver when it is
// not nil) with the engine's consumer and a job runner; opts configure
// the engine further.
func newRig(t *testing.T, driver storage.Driver, opts ...Option) *rig {
	store := testbolt.Open(t)
	rec, err := events.NewRecorder(store)
	if err != nil {
		t.Fatal(err)
	}
	gate, err := NewGate(store, WithExempt(func(_ context.Context, ev *registry.Event) bool {
		return ev.Request.Header.Get("X-Test-Exempt") != ""
	}))
	if err != nil {
		t.Fatal(err)
	}
	hooks := registry.WithHooks(registry.Chain(rec.Hooks(), gate.Hooks()))
	var reg *registrytest.Server
	if driver == nil {
		reg = testreg.Serve(t, store, hooks)
	} else {
		reg = serveOn(t, driver, store, hooks)
	}
	runner := testjobs.Runner(t, reg.Metadata, jobs.WithName("test"), jobs.WithWorkers(2), jobs.WithPoll(20*time.Millisecond), jobs.WithLease(3*time.Second))
	sc := &testScanner{vulns: map[string][]scan.Vulnerability{}}
	eng, err := New(reg.Metadata, append([]Option{WithQueue(testjobs.Queue(t, reg.Metadata, jobs.WithNotify(runner.Wake))),
		WithLocal(inproc.New(reg.Handler)), WithBuiltin("test", sc),
		WithRegistryURL("http://"+reg.Host, "", ""),
		WithCredentials(func(_ context.Context, scanner, repo string) (string, error) {
			return "Bearer for-" + scanner + "-" + repo, nil
		})}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	eng.Register(runner, jobs.KindOptions{Limit: 2, Backoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	consumer, err := events.NewConsumer(reg.Metadata, ConsumerName, events.TxFunc(eng.Consume), events.WithPoll(10*time.Millisecond),
		events.WithDone(func([]meta.Event) { runner.Wake() }))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = runner.Run(ctx) })
	wg.Go(func() { _ = consumer.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	r := &rig{t: t, reg: reg, eng: eng, scanner: sc, gate: gate}
	r.project(accounts.Project{Name: "team", Scan: accounts.ProjectScan{AutoScan: true}})
	r.project(accounts.Project{Name: "other"})
	return r
}

func (r *rig) project(p accounts.Project) {
	r.t.Helper()
	if err := r.reg.Metadata.Update(context.Background(), func(tx meta.Tx) error { return accounts.Projects.In(tx).Put(p) }); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) ref(s string) name.Reference {
	r.t.Helper()
	ref, err := name.ParseReference(r.reg.Host+"/"+s, name.Insecure)
	if err != nil {
		r.t.Fatal(err)
	}
	return ref
}

func (r *rig) push(s string) digest.Digest {
	r.t.Helper()
	img, _ := random.Image(256, 1)
	if err := remote.Write(r.ref(s), img); err != nil {
		r.t.Fatal(err)
	}
	d, _ := img.Digest()
	return digest.Digest(d.String())
}

func (r *rig) report(repo string, d digest.Digest) (ScanReport, error) {
	var rec ScanReport
	err := r.reg.Metadata.View(context.Background(), func(tx meta.Tx) error {
		var err error
		rec, err = Reports.In(tx).Get(ScanReportKey(repo, d))
		return err
	})
	return rec, err
}

// settled waits until scan-on-push has read every event logged so far and
// no job is pending or running: what was going to be scanned has been.
func (r *rig) settled() {
	r.t.Helper()
	eventually.True(r.t, "scan-on-push to catch up and the scans to finish", func() bool {
		idle := false
		err := r.reg.Metadata.View(context.Background(), func(tx meta.Tx) error {
			last, err := tx.Events().Last()
			if err != nil {
				return err
			}
			c, err := tx.Cursors().Get(ConsumerName)
			if err != nil || c.Seq < last {
				return nil
			}
			for _, st := range []meta.JobState{meta.JobPending, meta.JobRunning} {
				js, err := tx.Jobs().List(meta.JobFilter{State: st}, 0, 1)
				if err != nil || len(js) > 0 {
					return err
				}
			}
			idle = true
			return nil
		})
		return err == nil && idle
	})
}

func (r *rig) waitStatus(repo string, d digest.Digest, want ScanStatus) ScanReport {
	r.t.Helper()
	var rec ScanReport
	eventually.True(r.t, fmt.Sprintf("scan of %s@%s to be %s", repo, d, want), func() bool {
		var err error
		rec, err = r.report(repo, d)
		return err == nil && rec.Status == want
	})
	return rec
}

func (r *rig) events(typ string) []meta.Event {
	r.t.Helper()
	var out []meta.Event
	err := r.reg.Metadata.View(context.Background(), func(tx meta.Tx) error {
		all, err := tx.Events().List(0, 0)
		for _, e := range all {
			if e.Type == typ {
				out = append(out, e)
			}
		}
		return err
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return out
}

// referrers lists d's referrers by artifact type through the API.
func (r *rig) referrers(repo string, d digest.Digest) map[string][]digest.Digest {
	r.t.Helper()
	ref, _ := name.NewDigest(r.reg.Host+"/"+repo+"@"+d.String(), name.Insecure)
	idx, err := remote.Referrers(ref)
	if err != nil {
		r.t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		r.t.Fatal(err)
	}
	out := map[string][]digest.Digest{}
	for _, desc := range m.Manifests {
		out[desc.ArtifactType] = append(out[desc.ArtifactType], digest.Digest(desc.Digest.String()))
	}
	return out
}

func TestScanOnPush(t *testing.T) {
	r := newRig(t, nil)
	d := r.push("team/app:v1")
	r.scanner.mu.Lock()
	r.scanner.vulns[d.String()] = []scan.Vulnerability{
		{ID: "CVE-2023-5363", Package: "libcrypto3", Version: "3.1.2-r0", FixVersion: "3.1.4-r0", Severity: scan.SeverityHigh},
		{ID: "CVE-2023-5678", Package: "libcrypto3", Version: "3.1.2-r0", FixVersion: "3.1.4-r3", Severity: scan.SeverityMedium},
		{ID: "CVE-2024-0001", Package: "busybox", Version: "1.36.1-r2", Severity: scan.SeverityLow},
	}
	r.scanner.mu.Unlock()
	rec := r.waitStatus("team/app", d, ScanSuccess)
	// A new tag on the scanned image is a push, but no new scan.
	if err := remote.Tag(r.ref("team/app:v1").Context().Tag("again"), mustGet(t, r.ref("team/app:v1"))); err != nil {
		t.Fatal(err)
	}
	r.settled()
	if rec.Severity != "High" || rec.Fixable != 2 || rec.Counts["High"] != 1 || rec.Counts["Medium"] != 1 || rec.Counts["Low"] != 1 || len(rec.Findings) != 3 {
		t.Errorf("summary: %+v", rec)
	}
	if rec.ScannerName != "test" || rec.ScannerVersion != "1.0" || rec.Scanner != "test" || rec.ScannedAt.IsZero() {
		t.Errorf("scanner fields: %+v", rec)
	}
	reqs := r.scanner.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d scan requests, want 1", len(reqs))
	}
	req := reqs[0]
	if req.Registry.URL != "http://"+r.reg.Host || req.Registry.Authorization != "Bearer for-test-team/app" ||
		req.Artifact.Repository != "team/app" || req.Artifact.Digest != d.String() || req.Artifact.Tag != "v1" || req.Artifact.MimeType == "" {
		t.Errorf("scan request: %+v", req)
	}
	if len(req.EnabledCapabilities) != 2 || req.EnabledCapabilities[1].Parameters == nil ||
		!slices.Equal(req.EnabledCapabilities[1].Parameters.SBOMMediaTypes, []string{scan.MimeSPDX}) {
		t.Errorf("enabled capabilities: %+v (want the vulnerability report and an SPDX SBOM)", req.EnabledCapabilities)
	}
	refs := r.referrers("team/app", d)
	if !slices.Equal(refs[ArtifactTypeVulnReport], []digest.Digest{rec.Report}) || !slices.Equal(refs[ArtifactTypeSBOM], []digest.Digest{rec.SBOM}) || len(refs) != 2 {
		t.Errorf("referrers %v, want the report %s and the SBOM %s", refs, rec.Report, rec.SBOM)
	}
	b, mt, err := r.eng.ReadReport(context.Background(), "team/app", rec.Report)
	if err != nil {
		t.Fatal(err)
	}
	var report scan.VulnerabilityReport
	if err := json.Unmarshal(b, &report); err != nil || mt != scan.MimeVulnReport || len(report.Vulnerabilities) != 3 {
		t.Errorf("stored report (%s, %v): %s", mt, err, b)
	}
	b, mt, err = r.eng.ReadReport(context.Background(), "team/app", rec.SBOM)
	if err != nil || mt != scan.MimeSPDX || !strings.Contains(string(b), `"spdxVersion":"SPDX-2.3"`) {
		t.Errorf("stored SBOM (%s, %v): %s", mt, err, b)
	}
	evs := r.events(events.ScanningCompleted)
	if len(evs) != 1 || evs[0].Repository != "team/app" || evs[0].Digest != d.String() || evs[0].Tag != "v1" ||
		evs[0].Details["severity"] != "High" || evs[0].Details["trigger"] != TriggerPush {
		t.Fatalf("SCANNING_COMPLETED events: %+v", evs)
	}
	var overview map[string]scan.Overview
	if err := json.Unmarshal([]byte(evs[0].Details["scan_overview"]), &overview); err != nil ||
		overview[scan.MimeVulnReport].Summary == nil || overview[scan.MimeVulnReport].Summary.Total != 3 {
		t.Errorf("scan_overview %s (%v)", evs[0].Details["scan_overview"], err)
	}

	// A rescan replaces the referrers: one report and one SBOM remain.
	r.scanner.mu.Lock()
	r.scanner.vulns[d.String()] = r.scanner.vulns[d.String()][1:]
	r.scanner.mu.Unlock()
	if err := r.eng.Enqueue(context.Background(), "team/app", d, "", TriggerManual); err != nil {
		t.Fatal(err)
	}
	eventually.True(t, "the rescan", func() bool {
		rec2, err := r.report("team/app", d)
		return err == nil && rec2.Status == ScanSuccess && rec2.Report != rec.Report
	})
	rec, _ = r.report("team/app", d)
	if rec.Severity != "Medium" || len(rec.Findings) != 2 {
		t.Errorf("after the rescan: %+v", rec)
	}
	eventually.True(t, "the earlier report and SBOM to be removed", func() bool {
		refs = r.referrers("team/app", d)
		return len(refs) == 2 && slices.Equal(refs[ArtifactTypeVulnReport], []digest.Digest{rec.Report}) &&
			slices.Equal(refs[ArtifactTypeSBOM], []digest.Digest{rec.SBOM})
	})

	// Deleting the image forgets its scan.
	if err := remote.Delete(r.ref("team/app@" + d.String())); err != nil {
		t.Fatal(err)
	}
	eventually.True(t, "the scan record to go with the image", func() bool {
		_, err := r.report("team/app", d)
		return errors.Is(err, meta.ErrNotFound)
	})
}

func TestOnlyImagesOfAutoScanProjectsAreScanned(t *testing.T) {
	r := newRig(t, nil)
	other := r.push("other/app:v1") // a project without auto-scan
	img := r.push("team/app:v1")    // scanned
	base, _ := random.Image(64, 1)  // a referrer of it: not an image to scan
	desc, err := remote.Head(r.ref("team/app@" + img.String()))
	if err != nil {
		t.Fatal(err)
	}
	sig := mutate.Subject(base, v1.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size}).(v1.Image)
	if err := remote.Write(r.ref("team/app:sig"), sig); err != nil {
		t.Fatal(err)
	}
	r.waitStatus("team/app", img, ScanSuccess)
	r.settled()
	if n := len(r.scanner.requests()); n != 1 {
		t.Errorf("%d scans, want 1 (only team/app:v1)", n)
	}
	if _, err := r.report("other/app", other); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("other/app has a scan record: %v", err)
	}
	sd, _ := sig.Digest()
	if err := r.eng.Enqueue(context.Background(), "team/app", digest.Digest(sd.String()), "", TriggerManual); !errors.Is(err, ErrNotScannable) {
		t.Errorf("a manual scan of a referrer: %v, want ErrNotScannable", err)
	}
	// Scanning everything reaches the images of every project, once each.
	if _, err := r.eng.queue.Enqueue(context.Background(), jobs.Spec{Kind: AllKind}); err != nil {
		t.Fatal(err)
	}
	r.waitStatus("other/app", other, ScanSuccess)
	eventually.True(t, "the rescan of team/app", func() bool { return len(r.scanner.requests()) == 3 })
	r.waitStatus("team/app", img, ScanSuccess)
	r.settled()
	if n := len(r.scanner.requests()); n != 3 {
		t.Errorf("%d scans after scan-all, want 3", n)
	}
}

func TestFailedScan(t *testing.T) {
	r := newRig(t, nil)
	r.scanner.mu.Lock()
	r.scanner.fail = errors.New("adapter exploded")
	r.scanner.mu.Unlock()
	d := r.push("team/app:v1")
	rec := r.waitStatus("team/app", d, ScanError)
	if !strings.Contains(rec.Message, "adapter exploded") || !rec.ScannedAt.IsZero() {
		t.Errorf("failed record: %+v", rec)
	}
	evs := r.events(events.ScanningFailed)
	if len(evs) != 1 || !strings.Contains(evs[0].Details["message"], "adapter exploded") || evs[0].Result != "failure" {
		t.Errorf("SCANNING_FAILED events: %+v", evs)
	}
	j, err := r.eng.queue.Get(context.Background(), rec.JobID)
	if err != nil || j.Attempts != scanAttempts {
		t.Errorf("job %+v (%v): want %d attempts", j, err, scanAttempts)
	}
	if n := len(r.events(events.ScanningCompleted)); n != 0 {
		t.Errorf("%d SCANNING_COMPLETED events", n)
	}
	// An unknown scanner fails at once, without retries.
	if err := r.eng.Enqueue(context.Background(), "team/app", d, "nope", TriggerManual); err != nil {
		t.Fatal(err)
	}
	eventually.True(t, "the unknown scanner's failure", func() bool {
		rec, err := r.report("team/app", d)
		return err == nil && rec.Status == ScanError && strings.Contains(rec.Message, `unknown scanner "nope"`)
	})
	rec, _ = r.report("team/app", d)
	if j, err := r.eng.queue.Get(context.Background(), rec.JobID); err != nil || j.Attempts != 1 {
		t.Errorf("unknown scanner job %+v (%v): want 1 attempt", j, err)
	}
}

func TestGate(t *testing.T) {
	r := newRig(t, nil)
	d := r.push("team/app:v1")
	r.scanner.mu.Lock()
	r.scanner.vulns[d.String()] = []scan.Vulnerability{{ID: "CVE-2023-5363", Severity: scan.SeverityHigh}, {ID: "CVE-2023-5678", Severity: scan.SeverityMedium}}
	r.scanner.mu.Unlock()
	r.waitStatus("team/app", d, ScanSuccess)
	pull := func(ref string, hdr ...string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "http://"+r.reg.Host+"/v2/"+strings.Replace(ref, ":", "/manifests/", 1), nil)
		req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.index.v1+json")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body struct {
			Errors []struct{ Code, Message string }
		}
		_ = json.NewDecoder(res.Body).Decode(&body)
		msg := ""
		if len(body.Errors) > 0 {
			msg = body.Errors[0].Code + ": " + body.Errors[0].Message
		}
		return res.StatusCode, msg
	}
	settings := func(ps accounts.ProjectScan) { r.project(accounts.Project{Name: "team", Scan: ps}) }
	if code, msg := pull("team/app:v1"); code != 200 {
		t.Fatalf("no gate: %d %s", code, msg)
	}
	settings(accounts.ProjectScan{PreventVulnerable: true, Severity: "High"})
	code, msg := pull("team/app:v1")
	if code != http.StatusPreconditionFailed || !strings.HasPrefix(msg, string(CodePolicyViolation)) || !strings.Contains(msg, "CVE-2023-5363 (High)") || strings.Contains(msg, "CVE-2023-5678") {
		t.Errorf("High gate: %d %s", code, msg)
	}
	if code, _ := pull("team/app:v1", "X-Test-Exempt", "1"); code != 200 {
		t.Errorf("an exempt pull: %d", code)
	}
	settings(accounts.ProjectScan{PreventVulnerable: true, Severity: "Critical"})
	if code, msg := pull("team/app:v1"); code != 200 {
		t.Errorf("Critical gate: %d %s", code, msg)
	}
	settings(accounts.ProjectScan{PreventVulnerable: true, Severity: "High", Allowlist: []accounts.AllowedVulnerability{{ID: "cve-2023-5363"}}})
	if code, msg := pull("team/app:v1"); code != 200 {
		t.Errorf("High gate with the CVE allowed: %d %s", code, msg)
	}
	settings(accounts.ProjectScan{PreventVulnerable: true, Severity: "High", Allowlist: []accounts.AllowedVulnerability{{ID: "CVE-2023-5363", ExpiresAt: time.Now().Add(-time.Hour)}}})
	if code, _ := pull("team/app:v1"); code != http.StatusPreconditionFailed {
		t.Errorf("High gate with an expired allowlist entry: %d", code)
	}
	// Not yet scanned: allowed unless the project denies unscanned images.
	settings(accounts.ProjectScan{PreventVulnerable: true, Severity: "High", DenyUnscanned: true})
	fresh := r.push("team/fresh:v1") // auto-scan is off now: never scanned
	if code, msg := pull("team/fresh:v1"); code != http.StatusPreconditionFailed || !strings.Contains(msg, "not been scanned") {
		t.Errorf("unscanned with DenyUnscanned: %d %s", code, msg)
	}
	settings(accounts.ProjectScan{PreventVulnerable: true, Severity: "High"})
	if code, msg := pull("team/fresh:v1"); code != 200 {
		t.Errorf("unscanned without DenyUnscanned: %d %s", code, msg)
	}
	// An index is refused when one of its images is.
	settings(accounts.ProjectScan{})
	vuln, err := remote.Image(r.ref("team/app:v1"))
	if err != nil {
		t.Fatal(err)
	}
	clean, err := remote.Image(r.ref("team/fresh:v1"))
	if err != nil {
		t.Fatal(err)
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, "application/vnd.oci.image.index.v1+json"),
		mutate.IndexAddendum{Add: clean}, mutate.IndexAddendum{Add: vuln})
	if err := remote.WriteIndex(r.ref("team/multi:v1"), idx); err != nil {
		t.Fatal(err)
	}
	for _, dd := range []digest.Digest{d, fresh} {
		if err := r.eng.Enqueue(context.Background(), "team/multi", dd, "", TriggerManual); err != nil {
			t.Fatal(err)
		}
		r.waitStatus("team/multi", dd, ScanSuccess)
	}
	settings(accounts.ProjectScan{PreventVulnerable: true, Severity: "High"})
	code, msg = pull("team/multi:v1")
	if code != http.StatusPreconditionFailed || !strings.Contains(msg, d.String()+": ") {
		t.Errorf("an index with a vulnerable image: %d %s", code, msg)
	}
	if code, _ := pull("team/fresh:v1"); code != 200 {
		t.Errorf("the clean image: %d", code)
	}
}

// redirecting is a storage driver that sends blob reads elsewhere, as an
// object store's presigned URLs do.
type redirecting struct {
	storage.Driver
	base string
}

func (d redirecting) RedirectURL(_ context.Context, _ *http.Request, path string) (string, error) {
	return d.base + "/" + path, nil
}

// TestReportsBehindRedirects: on a registry whose storage redirects blob
// reads to another server, the reports are stored and read back (the
// engine's in-process transport follows the redirect over the network).
func TestReportsBehindRedirects(t *testing.T) {
	mem := memory.New()
	var redirected atomic.Int32
	objects := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc, err := mem.Reader(r.Context(), strings.TrimPrefix(r.URL.Path, "/"), 0)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer rc.Close()
		redirected.Add(1)
		_, _ = io.Copy(w, rc)
	}))
	defer objects.Close()
	r := newRig(t, redirecting{mem, objects.URL})
	d := r.push("team/app:v1")
	rec := r.waitStatus("team/app", d, ScanSuccess)
	before := redirected.Load()
	b, _, err := r.eng.ReadReport(context.Background(), "team/app", rec.Report)
	if err != nil || !strings.Contains(string(b), `"vulnerabilities"`) {
		t.Fatalf("the report behind a redirect (%v): %s", err, b)
	}
	if redirected.Load() == before {
		t.Error("the report was not read through the redirect")
	}
}

func mustGet(t *testing.T, ref name.Reference) *remote.Descriptor {
	t.Helper()
	d, err := remote.Get(ref)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestScanAllPages: the scan-all walk reaches every image of a repository
// holding more manifests than one of its transactions looks at, once each.
func TestScanAllPages(t *testing.T) {
	reg := registrytest.New(t)
	eng, err := New(reg.Metadata, WithQueue(testjobs.Queue(t, reg.Metadata)))
	if err != nil {
		t.Fatal(err)
	}
	const images = 2*allBatch + 7
	err = reg.Metadata.Update(context.Background(), func(tx meta.Tx) error {
		for _, repo := range []string{"team/app", "team/tiny"} {
			if _, _, err := tx.Repositories().Ensure(repo); err != nil {
				return err
			}
		}
		for i := range images {
			m := meta.Manifest{Digest: digest.FromString(fmt.Sprint("image ", i)), MediaType: scan.MimeOCIManifest, Size: 100,
				Config: meta.Descriptor{MediaType: "application/vnd.oci.image.config.v1+json", Digest: digest.FromString("c"), Size: 2}}
			if err := tx.Manifests().Put("team/app", m); err != nil {
				return err
			}
		}
		return tx.Manifests().Put("team/tiny", meta.Manifest{Digest: digest.FromString("tiny"), MediaType: scan.MimeDockerManifest, Size: 100,
			Config: meta.Descriptor{MediaType: "application/vnd.docker.container.image.v1+json", Digest: digest.FromString("c"), Size: 2}})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.all(context.Background(), meta.Job{}); err != nil {
		t.Fatal(err)
	}
	js, err := eng.queue.List(context.Background(), meta.JobFilter{Kind: ScanKind}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, j := range js {
		var p payload
		if err := json.Unmarshal(j.Payload, &p); err != nil {
			t.Fatal(err)
		}
		seen[p.Repository+"@"+p.Digest.String()] = true
	}
	if len(js) != images+1 || len(seen) != images+1 {
		t.Errorf("%d scan jobs for %d artifacts, want %d", len(js), len(seen), images+1)
	}
	// A second walk while they wait queues nothing more.
	if err := eng.all(context.Background(), meta.Job{}); err != nil {
		t.Fatal(err)
	}
	if js, _ := eng.queue.List(context.Background(), meta.JobFilter{Kind: ScanKind}, 0, 0); len(js) != images+1 {
		t.Errorf("%d scan jobs after a second walk, want %d", len(js), images+1)
	}
}

// serveOn serves a registry over driver (and a bbolt store) on loopback
// until the test ends, in registrytest's shape.
func serveOn(t *testing.T, driver storage.Driver, store *bolt.Store, opts ...registry.Option) *registrytest.Server {
	t.Helper()
	h, err := registry.New(driver, store, append([]registry.Option{registry.WithAnonymousMount(true)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &registrytest.Server{URL: srv.URL, Host: strings.TrimPrefix(srv.URL, "http://"), Handler: h, Metadata: store}
}
