package cveexport_test

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"golang.org/x/crypto/bcrypt"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/auth/rbac"
	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/internal/testjobs"
	"github.com/berthreg/berth/internal/teststores"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/label"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/scan"
	"github.com/berthreg/berth/scan/cveexport"
	"github.com/berthreg/berth/scan/securityhub"
)

// world is a registry's metadata with projects, scanned artifacts and a
// label, and an export service whose jobs run.
type world struct {
	t       *testing.T
	store   meta.Store
	m       *accounts.Manager
	svc     *cveexport.Service
	labelID int64
	// admin, alice (a developer of team), carol (a grant to pull ops/web)
	// and dave (no rights).
	admin, alice, carol, dave auth.Principal
}

// artifact is a scanned image of the world.
type artifact struct {
	repo, tag string
	vulns     []scan.Vulnerability
}

var worldArtifacts = []artifact{
	{"team/app", "v1", []scan.Vulnerability{
		{ID: "CVE-1", Package: "openssl", Version: "3.1.1", FixVersion: "3.1.4", Severity: scan.SeverityHigh,
			PreferredCVSS: &scan.CVSS{ScoreV3: 7.5, VectorV3: "CVSS:3.1/AV:N/AC:L"}, CWEIDs: []string{"CWE-1", "CWE-2"}, Description: "about, \"CVE-1\""},
		{ID: "CVE-2", Package: "busybox", Version: "1.36", Severity: scan.SeverityCritical, PreferredCVSS: &scan.CVSS{ScoreV3: 9.8}},
	}},
	{"team/tools/cli", "1.0", []scan.Vulnerability{{ID: "CVE-3", Package: "zlib", Version: "1.2", Severity: scan.SeverityMedium}}},
	{"team/untagged", "", []scan.Vulnerability{{ID: "CVE-3", Package: "zlib", Version: "1.2", Severity: scan.SeverityMedium}}},
	{"ops/web", "prod", []scan.Vulnerability{{ID: "CVE-1", Package: "openssl", Version: "3.1.1", Severity: scan.SeverityHigh}}},
	{"ops/db", "prod", []scan.Vulnerability{{ID: "CVE-4", Package: "postgres", Version: "16", Severity: scan.SeverityLow}}},
	{"pub/base", "3.18", []scan.Vulnerability{{ID: "CVE-5", Package: "@evil/pkg", Version: "=1+1", Severity: scan.SeverityLow,
		Description: "=HYPERLINK(\"http://evil\")"}}},
}

// imageDigest is the digest of the world's image in repo.
func imageDigest(repo string) digest.Digest { return digest.FromString("image of " + repo) }

func newWorld(t *testing.T, opts ...cveexport.Option) *world {
	t.Helper()
	ctx := context.Background()
	store := teststores.Open(t)
	m, err := accounts.New(ctx, store, accounts.WithHashCost(bcrypt.MinCost))
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, store: store, m: m, admin: auth.Principal{Name: "admin", Kind: auth.User, Admin: true}}
	for _, u := range []string{"admin", "alice", "carol", "dave"} {
		if err := m.SetUser(ctx, u, u+"-password", u == "admin"); err != nil {
			t.Fatal(err)
		}
	}
	for name, public := range map[string]bool{"team": false, "ops": false, "pub": true} {
		if err := m.CreateProject(ctx, w.admin, name, public); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.AddMember(ctx, w.admin, "team", "user", "alice", rbac.Developer); err != nil {
		t.Fatal(err)
	}
	if _, err := m.SetGrant(ctx, w.admin, "ops", "user", "carol", "ops/web", []string{auth.ActionPull}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "carol", "dave"} {
		p, err := m.Principal(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		*map[string]*auth.Principal{"alice": &w.alice, "carol": &w.carol, "dave": &w.dave}[u] = p
	}
	err = store.Update(ctx, func(tx meta.Tx) error {
		for _, a := range worldArtifacts {
			d := imageDigest(a.repo)
			if _, _, err := tx.Repositories().Ensure(a.repo); err != nil {
				return err
			}
			if err := tx.Manifests().Put(a.repo, meta.Manifest{Digest: d, MediaType: scan.MimeOCIManifest, Size: 10,
				Config: meta.Descriptor{MediaType: "application/vnd.oci.image.config.v1+json", Digest: digest.FromString("c"), Size: 2}}); err != nil {
				return err
			}
			if a.tag != "" {
				if err := tx.Tags().Put(a.repo, a.tag, d); err != nil {
					return err
				}
			}
			if err := securityhub.Record(tx, securityhub.Scan{Repository: a.repo, Digest: d, Scanner: "Berth", Vulnerabilities: a.vulns}); err != nil {
				return err
			}
		}
		return tx.Tags().Put("team/app", "latest", imageDigest("team/app"))
	})
	if err != nil {
		t.Fatal(err)
	}
	labels, err := label.New(store, m.Authorizer(), m)
	if err != nil {
		t.Fatal(err)
	}
	l, err := labels.Create(ctx, w.admin, label.Label{Name: "prod", Scope: label.Global})
	if err != nil {
		t.Fatal(err)
	}
	w.labelID = l.ID
	for _, repo := range []string{"team/tools/cli", "ops/web"} {
		if _, err := labels.Attach(ctx, w.admin, repo, imageDigest(repo).String(), l.ID); err != nil {
			t.Fatal(err)
		}
	}

	runner := testjobs.Runner(t, store, jobs.WithPoll(10*time.Millisecond))
	queue := testjobs.Queue(t, store, jobs.WithNotify(runner.Wake))
	if w.svc, err = cveexport.New(store, queue, m, m.Authorizer(), append([]cveexport.Option{cveexport.WithPrincipals(m.Principal)}, opts...)...); err != nil {
		t.Fatal(err)
	}
	w.svc.Register(runner)
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { _ = runner.Run(runCtx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return w
}

// export starts an export for p and waits for it to end.
func (w *world) export(p auth.Principal, req cveexport.Request) cveexport.Execution {
	w.t.Helper()
	ex, err := w.svc.Start(context.Background(), p, req)
	if err != nil {
		w.t.Fatalf("Start(%+v): %v", req, err)
	}
	return w.wait(p, ex.ID)
}

func (w *world) wait(p auth.Principal, id uint64) cveexport.Execution {
	w.t.Helper()
	var ex cveexport.Execution
	eventually.True(w.t, "the export to end", func() bool {
		var err error
		ex, err = w.svc.Execution(context.Background(), p, id)
		return err == nil && !ex.Active()
	})
	return ex
}

// rows downloads p's export id and returns its data rows, parsed.
func (w *world) rows(p auth.Principal, id uint64) [][]string {
	w.t.Helper()
	_, r, err := w.svc.Download(context.Background(), p, id)
	if err != nil {
		w.t.Fatal(err)
	}
	all, err := csv.NewReader(r).ReadAll()
	if err != nil {
		w.t.Fatal(err)
	}
	if len(all) == 0 || !slices.Equal(all[0], cveexport.Header) {
		w.t.Fatalf("header %q, want %q", all, cveexport.Header)
	}
	return all[1:]
}

// lines sums rows up as "repository cve".
func lines(rows [][]string) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r[1]+" "+r[4])
	}
	slices.Sort(out)
	return out
}

// TestExportWhatCallersMayPull: every project's rows for an
// administrator; for others, the repositories they may pull from only.
func TestExportWhatCallersMayPull(t *testing.T) {
	w := newWorld(t)
	for _, c := range []struct {
		who  auth.Principal
		want []string
	}{
		{w.admin, []string{"ops/db CVE-4", "ops/web CVE-1", "pub/base CVE-5", "team/app CVE-1", "team/app CVE-2", "team/tools/cli CVE-3", "team/untagged CVE-3"}},
		{w.alice, []string{"pub/base CVE-5", "team/app CVE-1", "team/app CVE-2", "team/tools/cli CVE-3", "team/untagged CVE-3"}},
		{w.carol, []string{"ops/web CVE-1", "pub/base CVE-5"}},
		{w.dave, []string{"pub/base CVE-5"}},
	} {
		ex := w.export(c.who, cveexport.Request{JobName: "all"})
		if ex.Status != cveexport.StatusSuccess || !ex.FilePresent() || ex.Rows != len(c.want) {
			t.Errorf("%s: %+v", c.who.Name, ex)
			continue
		}
		if got := lines(w.rows(c.who, ex.ID)); !slices.Equal(got, c.want) {
			t.Errorf("%s exports %q, want %q", c.who.Name, got, c.want)
		}
	}
	// A named project the caller does not see is refused at the start.
	for _, req := range []cveexport.Request{{Projects: []string{"ops"}}, {Projects: []string{"nope"}}, {ProjectIDs: []uint64{999}}} {
		if _, err := w.svc.Start(context.Background(), w.alice, req); !errors.Is(err, cveexport.ErrNotFound) {
			t.Errorf("alice exporting %+v: %v, want ErrNotFound", req, err)
		}
	}
	// carol sees ops through her grant, and gets its repository she may pull.
	ex := w.export(w.carol, cveexport.Request{Projects: []string{"ops"}})
	if got := lines(w.rows(w.carol, ex.ID)); !slices.Equal(got, []string{"ops/web CVE-1"}) {
		t.Errorf("carol exports ops: %q", got)
	}
	if _, err := w.svc.Start(context.Background(), auth.AnonymousPrincipal, cveexport.Request{}); !errors.Is(err, cveexport.ErrUnauthenticated) {
		t.Errorf("an anonymous export: %v", err)
	}
}

// TestExportFilters: projects by name and id, repository and tag
// patterns, labels, CVE ids; the CSV's cells.
func TestExportFilters(t *testing.T) {
	w := newWorld(t)
	team, err := w.m.GetProject(context.Background(), w.admin, "team")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		req  cveexport.Request
		want []string
	}{
		{cveexport.Request{ProjectIDs: []uint64{team.ID}}, []string{"team/app CVE-1", "team/app CVE-2", "team/tools/cli CVE-3", "team/untagged CVE-3"}},
		{cveexport.Request{Projects: []string{"team"}, Repositories: "tools/**"}, []string{"team/tools/cli CVE-3"}},
		{cveexport.Request{Projects: []string{"team", "ops"}, Repositories: "{app,web}"}, []string{"ops/web CVE-1", "team/app CVE-1", "team/app CVE-2"}},
		{cveexport.Request{Tags: "v*"}, []string{"team/app CVE-1", "team/app CVE-2"}},
		{cveexport.Request{Tags: "**"}, []string{"ops/db CVE-4", "ops/web CVE-1", "pub/base CVE-5", "team/app CVE-1", "team/app CVE-2", "team/tools/cli CVE-3"}},
		{cveexport.Request{Labels: []int64{w.labelID}}, []string{"ops/web CVE-1", "team/tools/cli CVE-3"}},
		{cveexport.Request{Labels: []int64{w.labelID + 100}}, nil},
		{cveexport.Request{CVEs: "CVE-1, CVE-3"}, []string{"ops/web CVE-1", "team/app CVE-1", "team/tools/cli CVE-3", "team/untagged CVE-3"}},
	} {
		ex := w.export(w.admin, c.req)
		if got := lines(w.rows(w.admin, ex.ID)); !slices.Equal(got, c.want) {
			t.Errorf("%+v: %q, want %q", c.req, got, c.want)
		}
	}
	ex := w.export(w.admin, cveexport.Request{CVEs: "CVE-1,CVE-5", Repositories: "{app,base}"})
	rows := w.rows(w.admin, ex.ID)
	want := [][]string{
		{"pub", "pub/base", imageDigest("pub/base").String(), "3.18", "CVE-5", "'@evil/pkg", "'=1+1", "", "Low", "", "", "", "'=HYPERLINK(\"http://evil\")", "Berth"},
		{"team", "team/app", imageDigest("team/app").String(), "latest,v1", "CVE-1", "openssl", "3.1.1", "3.1.4", "High", "7.5",
			"CVSS:3.1/AV:N/AC:L", "CWE-1,CWE-2", "about, \"CVE-1\"", "Berth"},
	}
	if !slices.EqualFunc(rows, want, slices.Equal) {
		t.Errorf("rows\n%q\nwant\n%q", rows, want)
	}
	for _, bad := range []cveexport.Request{{Projects: []string{""}}, {ProjectIDs: []uint64{0}}, {Labels: []int64{-1}},
		{Repositories: "[a"}, {Tags: "{a"}, {CVEs: "CVE-1,,CVE-2"}, {JobName: strings.Repeat("x", 300)}} {
		var fe *cveexport.FieldError
		if _, err := w.svc.Start(context.Background(), w.admin, bad); !errors.Is(err, cveexport.ErrInvalid) || !errors.As(err, &fe) {
			t.Errorf("Start(%+v): %v, want a FieldError", bad, err)
		}
	}
}

// TestExportOwnership: only the owner lists, reads and downloads an
// export; only a finished one downloads; old ones go.
func TestExportOwnership(t *testing.T) {
	w := newWorld(t, cveexport.WithKeep(2))
	ctx := context.Background()
	first := w.export(w.alice, cveexport.Request{JobName: "first"})
	if _, err := w.svc.Execution(ctx, w.dave, first.ID); !errors.Is(err, cveexport.ErrNotFound) {
		t.Errorf("dave reading alice's export: %v", err)
	}
	if _, _, err := w.svc.Download(ctx, w.dave, first.ID); !errors.Is(err, cveexport.ErrNotFound) {
		t.Errorf("dave downloading alice's export: %v", err)
	}
	if list, err := w.svc.Executions(ctx, w.dave); err != nil || len(list) != 0 {
		t.Errorf("dave's exports: %v, %v", list, err)
	}
	second := w.export(w.alice, cveexport.Request{JobName: "second"})
	list, err := w.svc.Executions(ctx, w.alice)
	if err != nil || len(list) != 2 || list[0].ID != second.ID || list[0].Request.JobName != "second" {
		t.Errorf("alice's exports: %+v, %v", list, err)
	}
	// A third drops the oldest, with its file.
	third := w.export(w.alice, cveexport.Request{JobName: "third"})
	if _, err := w.svc.Execution(ctx, w.alice, first.ID); !errors.Is(err, cveexport.ErrNotFound) {
		t.Errorf("the first export after a third: %v", err)
	}
	if len(w.rows(w.alice, third.ID)) != 5 || len(w.rows(w.alice, second.ID)) != 5 {
		t.Error("the kept exports lost rows")
	}
	// An export not yet run has no file.
	if err := w.m.DeleteUser(ctx, "carol"); err != nil {
		t.Fatal(err)
	}
	gone := w.export(w.carol, cveexport.Request{})
	if gone.Status != cveexport.StatusError || gone.FilePresent() || !strings.Contains(gone.StatusText, "carol") {
		t.Errorf("an export of a deleted account: %+v", gone)
	}
	if _, _, err := w.svc.Download(ctx, w.carol, gone.ID); !errors.Is(err, cveexport.ErrNotReady) {
		t.Errorf("downloading a failed export: %v", err)
	}
}

// TestExportLimit: an export stops at its size limit and says so; what
// it wrote is whole rows, in chunks read back in order.
func TestExportLimit(t *testing.T) {
	w := newWorld(t, cveexport.WithLimit(4<<10), cveexport.WithChunk(500))
	var vs []scan.Vulnerability
	for i := range 200 {
		vs = append(vs, scan.Vulnerability{ID: fmt.Sprintf("CVE-2024-%05d", i), Package: "libbig", Version: "1", Severity: scan.SeverityLow})
	}
	err := w.store.Update(context.Background(), func(tx meta.Tx) error {
		return securityhub.Record(tx, securityhub.Scan{Repository: "pub/base", Digest: imageDigest("pub/base"), Vulnerabilities: vs})
	})
	if err != nil {
		t.Fatal(err)
	}
	ex := w.export(w.admin, cveexport.Request{Projects: []string{"pub"}})
	if ex.Status != cveexport.StatusSuccess || !ex.Truncated || ex.Bytes > 4<<10 || ex.Chunks < 5 || !strings.Contains(ex.StatusText, "limit") {
		t.Fatalf("a truncated export: %+v", ex)
	}
	rows := w.rows(w.admin, ex.ID)
	if len(rows) != ex.Rows || len(rows) == 0 || len(rows) >= len(vs) {
		t.Errorf("%d rows, the execution says %d", len(rows), ex.Rows)
	}
	for i, r := range rows {
		if r[4] != vs[i].ID {
			t.Fatalf("row %d is %s, want %s", i, r[4], vs[i].ID)
		}
	}
	_, r, _ := w.svc.Download(context.Background(), w.admin, ex.ID)
	b, _ := io.ReadAll(r)
	if int64(len(b)) != ex.Bytes {
		t.Errorf("%d bytes, the execution says %d", len(b), ex.Bytes)
	}
}
