package engine

import (
	"context"
	"errors"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/internal/testbolt"
	"github.com/berthreg/berth/internal/testscan"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/netguard"
	"github.com/berthreg/berth/scan"
	"github.com/berthreg/berth/scan/pluggable"
)

// loopback lets the tests' adapters on 127.0.0.1 be registrations.
var loopback = netguard.New(netguard.AllowNetworks(netip.MustParsePrefix("127.0.0.0/8")))

// downScanner is a built-in scanner that never answers.
type downScanner struct{ *testScanner }

func (downScanner) Metadata(context.Context) (scan.Metadata, error) {
	return scan.Metadata{}, errors.New("scanner down")
}

// newService is an engine over a real bbolt store with the built-in
// scanners "builtin" and "down", and the projects team and other.
func newService(t *testing.T, opts ...Option) (*Engine, meta.Store) {
	t.Helper()
	store := testbolt.Open(t)
	e, err := New(store, append([]Option{WithBuiltin("builtin", &testScanner{}), WithBuiltin("down", downScanner{&testScanner{}}), WithGuard(loopback)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Update(context.Background(), func(tx meta.Tx) error {
		for _, p := range []string{"team", "other"} {
			if err := accounts.Projects.In(tx).Put(accounts.Project{Name: p}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return e, store
}

func ptr[T any](v T) *T { return &v }

// wantField fails unless err is a *FieldError naming field.
func wantField(t *testing.T, what string, err error, field string) {
	t.Helper()
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != field || !errors.Is(err, ErrInvalid) || !strings.HasPrefix(err.Error(), field+": ") {
		t.Errorf("%s: %v (%T), want a FieldError naming %s", what, err, err, field)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	store := testbolt.Open(t)
	for name, opts := range map[string][]Option{
		"nil scanner":       {WithBuiltin("x", nil)},
		"empty name":        {WithBuiltin("", &testScanner{})},
		"duplicate":         {WithBuiltin("x", &testScanner{}), WithBuiltin("x", &testScanner{})},
		"zero timeout":      {WithTimeout(0)},
		"negative timeout":  {WithTimeout(-time.Second)},
		"ftp registry":      {WithRegistryURL("ftp://registry", "", "")},
		"hostless internal": {WithRegistryURL("http://registry", "http://", "")},
	} {
		if e, err := New(store, opts...); err == nil {
			t.Errorf("%s: New = %v, want an error", name, e)
		}
	}
	if _, err := New(nil); err == nil {
		t.Error("New(nil) is accepted")
	}
	if _, err := New(store, WithTimeout(time.Minute), WithRegistryURL("https://r", "", "http://local"), WithLogger(nil)); err != nil {
		t.Errorf("good options: %v", err)
	}
}

// TestRegistrationRules: the service refuses bad registrations naming
// the field, and keeps its rules on names, built-in scanners, the
// default and credentials.
func TestRegistrationRules(t *testing.T) {
	e, store := newService(t)
	regs := e.Registrations()
	ctx := context.Background()
	adapter := httptest.NewServer(testscan.Server(t, &testScanner{}, pluggable.WithRequiredAuthorization("Bearer s3cret")))
	t.Cleanup(adapter.Close)
	for _, c := range []struct {
		spec  ScannerSpec
		field string
	}{
		{ScannerSpec{URL: adapter.URL}, "name"},
		{ScannerSpec{Name: "a b", URL: adapter.URL}, "name"},
		{ScannerSpec{Name: strings.Repeat("x", 65), URL: adapter.URL}, "name"},
		{ScannerSpec{Name: "builtin", URL: adapter.URL}, "name"},
		{ScannerSpec{Name: "t", URL: "ftp://t"}, "url"},
		{ScannerSpec{Name: "t", URL: "http://"}, "url"},
		{ScannerSpec{Name: "t", URL: "http://169.254.169.254"}, "url"},
		{ScannerSpec{Name: "t", URL: adapter.URL, Auth: "Magic"}, "auth"},
		{ScannerSpec{Name: "t", URL: adapter.URL, Auth: "Bearer"}, "access_credential"},
		{ScannerSpec{Name: "t", URL: adapter.URL, Auth: "Basic", AccessCredential: ptr("")}, "access_credential"},
	} {
		wantField(t, "Create "+c.spec.Name+" "+c.spec.URL, regs.Create(ctx, c.spec), c.field)
	}
	if _, err := regs.Get(ctx, "t"); !errors.Is(err, ErrUnknownScanner) || !errors.Is(err, meta.ErrNotFound) || err.Error() != "scanner t not found" {
		t.Fatalf("a refused registration is there: %v", err)
	}

	spec := ScannerSpec{Name: "trivy", Description: "Trivy", URL: adapter.URL, Auth: "Bearer", AccessCredential: ptr("s3cret")}
	if err := regs.Create(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if err := regs.Create(ctx, spec); !errors.Is(err, ErrExists) || err.Error() != "scanner trivy exists" {
		t.Errorf("Create twice = %v, want ErrExists", err)
	}
	got, err := regs.Get(ctx, "trivy")
	if err != nil || got.URL != adapter.URL || got.AccessCredential != "" || got.Default || got.BuiltIn || got.CreatedAt.IsZero() {
		t.Errorf("Get = %+v, %v", got, err)
	}
	// An update without a credential keeps the stored one: the ping
	// through the stored registration still authenticates.
	if err := regs.Update(ctx, ScannerSpec{Name: "trivy", URL: adapter.URL, Auth: "Bearer", Description: "changed", Default: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Ping(ctx, ScannerSpec{Name: "trivy", URL: adapter.URL, Auth: "Bearer"}); err != nil {
		t.Errorf("Ping with the kept credential: %v", err)
	}
	wantField(t, "Ping with a wrong credential", func() error {
		_, err := e.Ping(ctx, ScannerSpec{Name: "trivy", URL: adapter.URL, Auth: "Bearer", AccessCredential: ptr("wrong")})
		return err
	}(), "url")
	var stored ScannerRegistration
	_ = store.View(ctx, func(tx meta.Tx) error { stored, _ = Scanners.In(tx).Get("trivy"); return nil })
	if stored.AccessCredential != "s3cret" || stored.Description != "changed" {
		t.Errorf("stored after update: %+v", stored)
	}
	wantField(t, "Update a built-in scanner", regs.Update(ctx, ScannerSpec{Name: "builtin", URL: adapter.URL}), "name")
	wantField(t, "Update to a bad URL", regs.Update(ctx, ScannerSpec{Name: "trivy", URL: "ftp://x"}), "url")
	if err := regs.Update(ctx, ScannerSpec{Name: "nope", URL: adapter.URL}); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("Update of nothing = %v", err)
	}

	list, err := regs.List(ctx)
	if err != nil || len(list) != 3 || list[0].Name != "builtin" || !list[0].BuiltIn || list[1].Name != "down" ||
		list[2].Name != "trivy" || !list[2].Default || list[0].Default || list[2].AccessCredential != "" {
		t.Errorf("List = %+v, %v", list, err)
	}
	if _, err := regs.Delete(ctx, "trivy"); !errors.Is(err, ErrInUse) {
		t.Errorf("Delete the default = %v, want ErrInUse", err)
	}
	if _, err := regs.Delete(ctx, "builtin"); !errors.Is(err, ErrBuiltin) || err.Error() != "scanner builtin is built in" {
		t.Errorf("Delete a built-in = %v, want ErrBuiltin", err)
	}
	if err := regs.SetDefault(ctx, "nope"); !errors.Is(err, ErrUnknownScanner) || !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("SetDefault(nope) = %v", err)
	}
	if err := regs.SetDefault(ctx, "builtin"); err != nil {
		t.Fatal(err)
	}
	gone, err := regs.Delete(ctx, "trivy")
	if err != nil || gone.Name != "trivy" || gone.AccessCredential != "" {
		t.Errorf("Delete = %+v, %v", gone, err)
	}
	if _, err := regs.Delete(ctx, "trivy"); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("Delete twice = %v", err)
	}
}

// TestScannerMetadata: Metadata tells an unknown scanner (not found)
// from one that does not answer (unavailable).
func TestScannerMetadata(t *testing.T) {
	e, _ := newService(t)
	ctx := context.Background()
	if md, err := e.Metadata(ctx, "builtin"); err != nil || md.Scanner.Name != "test" {
		t.Errorf("Metadata(builtin) = %+v, %v", md, err)
	}
	if _, err := e.Metadata(ctx, "nope"); !errors.Is(err, meta.ErrNotFound) || errors.Is(err, ErrUnavailable) {
		t.Errorf("Metadata(nope) = %v", err)
	}
	if _, err := e.Metadata(ctx, "down"); !errors.Is(err, ErrUnavailable) || err.Error() != "scanner down: scanner down" {
		t.Errorf("Metadata(down) = %v", err)
	}
}

// TestProjectScanner: a project uses its own scanner or the default;
// the choice must name a scanner; a missing project is not found.
func TestProjectScanner(t *testing.T) {
	e, _ := newService(t)
	regs := e.Registrations()
	ctx := context.Background()
	if got, err := regs.ForProject(ctx, "team"); err != nil || got.Name != "builtin" || !got.Default {
		t.Errorf("ForProject before a choice = %+v, %v", got, err)
	}
	wantField(t, "SetForProject(nope)", regs.SetForProject(ctx, "team", "nope"), "uuid")
	if err := regs.SetForProject(ctx, "team", "down"); err != nil {
		t.Fatal(err)
	}
	if got, err := regs.ForProject(ctx, "team"); err != nil || got.Name != "down" || got.Default {
		t.Errorf("ForProject after a choice = %+v, %v", got, err)
	}
	if got, _ := regs.ForProject(ctx, "other"); got.Name != "builtin" {
		t.Errorf("another project's scanner: %+v", got)
	}
	err := regs.SetForProject(ctx, "gone", "builtin")
	if !errors.Is(err, meta.ErrNotFound) || errors.Is(err, ErrUnknownScanner) || err.Error() != "project gone not found" {
		t.Errorf("SetForProject on a missing project = %v", err)
	}
	if err := regs.SetForProject(ctx, "team", ""); err != nil {
		t.Fatal(err)
	}
	if got, _ := regs.ForProject(ctx, "team"); got.Name != "builtin" {
		t.Errorf("back to the default: %+v", got)
	}

	bare, err := New(testbolt.Open(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := bare.store.Update(ctx, func(tx meta.Tx) error { return accounts.Projects.In(tx).Put(accounts.Project{Name: "team"}) }); err != nil {
		t.Fatal(err)
	}
	if _, err := bare.Registrations().ForProject(ctx, "team"); !errors.Is(err, ErrUnknownScanner) ||
		err.Error() != "project team has no scanner: none is configured" {
		t.Errorf("ForProject without scanners = %v", err)
	}
}

// TestProjectSettings: changes are checked, naming the field; what a
// change omits stays.
func TestProjectSettings(t *testing.T) {
	_, store := newService(t)
	s := NewProjectSettings(store)
	ctx := context.Background()
	exp := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	list := []accounts.AllowedVulnerability{{ID: " CVE-2023-5363 "}, {ID: "CVE-2024-0727", ExpiresAt: exp}}
	if err := s.Update(ctx, "team", SettingsChange{AutoScan: ptr(true), PreventVulnerable: ptr(true), Severity: ptr("high"),
		DenyUnscanned: ptr(true), Allowlist: &list}); err != nil {
		t.Fatal(err)
	}
	ps, err := s.Get(ctx, "team")
	if err != nil || !ps.AutoScan || !ps.PreventVulnerable || ps.Severity != "High" || !ps.DenyUnscanned || len(ps.Allowlist) != 2 ||
		ps.Allowlist[0].ID != "CVE-2023-5363" || !ps.Allowlist[1].ExpiresAt.Equal(exp) {
		t.Errorf("stored settings: %+v, %v", ps, err)
	}
	if list[0].ID != " CVE-2023-5363 " {
		t.Errorf("the caller's list changed: %+v", list)
	}
	for _, c := range []struct {
		change SettingsChange
		field  string
	}{
		{SettingsChange{Severity: ptr("scary")}, "metadata.severity"},
		{SettingsChange{Severity: ptr("")}, "metadata.severity"},
		{SettingsChange{Allowlist: &[]accounts.AllowedVulnerability{{ID: "x"}, {ID: " "}}}, "cve_allowlist.items[1].cve_id"},
		{SettingsChange{Allowlist: &[]accounts.AllowedVulnerability{{ID: "x", ExpiresAt: time.Unix(-5, 0)}}}, "cve_allowlist.items[0].expires_at"},
	} {
		wantField(t, "Check", c.change.Check(), c.field)
		wantField(t, "Update", s.Update(ctx, "team", c.change), c.field)
	}
	if err := s.Update(ctx, "team", SettingsChange{AutoScan: ptr(false), Severity: ptr("none")}); err != nil {
		t.Fatal(err)
	}
	ps, _ = s.Get(ctx, "team")
	if ps.AutoScan || !ps.PreventVulnerable || ps.Severity != string(scan.SeverityUnknown) || len(ps.Allowlist) != 2 {
		t.Errorf("after a partial update: %+v", ps)
	}
	if err := s.Update(ctx, "gone", SettingsChange{AutoScan: ptr(true)}); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("Update of a missing project = %v", err)
	}
	if err := s.Update(ctx, "gone", SettingsChange{}); err != nil {
		t.Errorf("an empty change = %v, want nothing done", err)
	}
	if _, err := s.Get(ctx, "gone"); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("Get of a missing project = %v", err)
	}
}

// TestArtifacts: an artifact is found by tag or digest, with its tags
// and its scan.
func TestArtifacts(t *testing.T) {
	e, store := newService(t)
	ctx := context.Background()
	img := digest.FromString("image")
	if err := store.Update(ctx, func(tx meta.Tx) error {
		if _, _, err := tx.Repositories().Ensure("team/app"); err != nil {
			return err
		}
		if err := tx.Manifests().Put("team/app", meta.Manifest{Digest: img, MediaType: scan.MimeOCIManifest, Size: 5,
			Config: meta.Descriptor{MediaType: "application/vnd.oci.image.config.v1+json", Digest: digest.FromString("c"), Size: 2}}); err != nil {
			return err
		}
		return tx.Tags().Put("team/app", "v1", img)
	}); err != nil {
		t.Fatal(err)
	}
	a := NewArtifacts(store)
	got, err := a.Get(ctx, "team/app", "v1")
	if err != nil || got.Manifest.Digest != img || len(got.Tags) != 1 || got.Scan != nil || got.Repository != "team/app" {
		t.Fatalf("Get(v1) = %+v, %v", got, err)
	}
	if err := e.Enqueue(ctx, "team/app", img, "", TriggerManual); err != nil {
		t.Fatal(err)
	}
	if got, err = a.Get(ctx, "team/app", img.String()); err != nil || got.Scan == nil || got.Scan.Status != ScanPending {
		t.Errorf("Get(digest) after a scan was asked for = %+v, %v", got, err)
	}
	if b, err := e.Vulnerabilities(ctx, "team/app", img); b != nil || err != nil {
		t.Errorf("Vulnerabilities before a report = %s, %v", b, err)
	}
	for _, ref := range []string{"v2", digest.FromString("nothing").String()} {
		if _, err := a.Get(ctx, "team/app", ref); !errors.Is(err, meta.ErrNotFound) {
			t.Errorf("Get(%s) = %v", ref, err)
		}
	}
}
