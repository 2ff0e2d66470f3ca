package api

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/auth/rbac"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/scan"
	"github.com/berthreg/berth/scan/securityhub"
)

// scannedImage is an image of the hub tests, with its scan's findings.
type scannedImage struct {
	repo, tag string
	vulns     []scan.Vulnerability
}

var hubImages = []scannedImage{
	{"team/app", "v1", []scan.Vulnerability{
		{ID: "CVE-2023-5363", Package: "libssl3", Version: "3.1.1-r1", FixVersion: "3.1.4-r0", Severity: scan.SeverityHigh,
			PreferredCVSS: &scan.CVSS{ScoreV3: 7.5}, Description: "openssl: incorrect cipher key", Links: []string{"https://nvd.example/CVE-2023-5363"}},
		{ID: "CVE-2022-48174", Package: "busybox", Version: "1.36.1-r0", FixVersion: "1.36.1-r1", Severity: scan.SeverityCritical,
			PreferredCVSS: &scan.CVSS{ScoreV3: 9.8}},
	}},
	{"other/web", "prod", []scan.Vulnerability{
		{ID: "CVE-2023-5363", Package: "libssl3", Version: "3.1.1-r1", Severity: scan.SeverityHigh, PreferredCVSS: &scan.CVSS{ScoreV3: 7.5}},
		{ID: "CVE-2024-0001", Package: "zlib", Version: "1.3", Severity: scan.SeverityLow},
	}},
}

// seedHub stores the images of hubImages and their scans' findings, as
// the scan engine records them.
func seedHub(t *testing.T, store meta.Store, images []scannedImage) {
	t.Helper()
	err := store.Update(context.Background(), func(tx meta.Tx) error {
		for _, img := range images {
			d := digest.FromString("image " + img.repo)
			if _, _, err := tx.Repositories().Ensure(img.repo); err != nil {
				return err
			}
			if err := tx.Manifests().Put(img.repo, meta.Manifest{Digest: d, MediaType: scan.MimeOCIManifest, Size: 10,
				Config: meta.Descriptor{MediaType: "application/vnd.oci.image.config.v1+json", Digest: digest.FromString("c"), Size: 2}}); err != nil {
				return err
			}
			if err := tx.Tags().Put(img.repo, img.tag, d); err != nil {
				return err
			}
			if err := securityhub.Record(tx, securityhub.Scan{Repository: img.repo, Digest: d, Scanner: "Berth", Vulnerabilities: img.vulns}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// hubAPI serves the API over a store holding hubImages, with projects
// team (alice a developer) and other.
func hubAPI(t *testing.T, opts ...Option) (meta.Store, *accounts.Manager, string) {
	t.Helper()
	store := openStore(t)
	hub, err := securityhub.New(store, securityhub.WithArtifactCountTTL(0))
	if err != nil {
		t.Fatal(err)
	}
	url, m := newAPIOn(t, store, append([]Option{WithSecurityHub(hub)}, opts...)...)
	admin := auth.Principal{Name: "admin", Kind: auth.User, Admin: true}
	for _, p := range []string{"team", "other"} {
		if err := m.CreateProject(t.Context(), admin, p, false); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.AddMember(t.Context(), admin, "team", "user", "alice", rbac.Developer); err != nil {
		t.Fatal(err)
	}
	seedHub(t, store, hubImages)
	return store, m, url
}

func TestSecuritySummary(t *testing.T) {
	_, m, url := hubAPI(t)
	admin := client{t, url, "admin", "admin-password"}
	client{t, url, "alice", "alice-password"}.want("GET", "/security/summary", "", 403, "FORBIDDEN")
	client{t: t, url: url}.want("GET", "/security/summary", "", 401, "UNAUTHORIZED")
	admin.want("GET", "/security/summary?with_dangerous_cve=maybe", "", 400, "BAD_REQUEST")

	_, out := admin.want("GET", "/security/summary?with_dangerous_cve=true&with_dangerous_artifact=true", "", 200, "")
	var s securitySummaryJSON
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	dangerousCVEs, dangerousArtifacts := s.DangerousCVEs, s.DangerousArtifacts
	s.DangerousCVEs, s.DangerousArtifacts = nil, nil
	want := securitySummaryJSON{CriticalCnt: 1, HighCnt: 2, LowCnt: 1, TotalVuls: 4, ScannedCnt: 2, TotalArtifact: 2, FixableCnt: 2, VulnerableCnt: 2}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("summary %+v, want %+v", s, want)
	}
	var cves []string
	for _, c := range dangerousCVEs {
		cves = append(cves, c.CVEID)
	}
	if !slices.Equal(cves, []string{"CVE-2022-48174", "CVE-2023-5363", "CVE-2024-0001"}) {
		t.Errorf("dangerous CVEs %s", out)
	}
	if c := dangerousCVEs[1]; c.ArtifactCnt != 2 || c.CVSSScoreV3 == nil || *c.CVSSScoreV3 != 7.5 || c.Desc != "openssl: incorrect cipher key" ||
		c.Package != "libssl3" || c.Severity != "High" {
		t.Errorf("CVE-2023-5363: %+v", c)
	}
	team, _ := m.GetProject(t.Context(), auth.Principal{Name: "admin", Kind: auth.User, Admin: true}, "team")
	if len(dangerousArtifacts) != 2 || dangerousArtifacts[0].RepositoryName != "team/app" || dangerousArtifacts[0].ProjectID != team.ID ||
		dangerousArtifacts[0].CriticalCnt != 1 || dangerousArtifacts[0].HighCnt != 1 || dangerousArtifacts[1].RepositoryName != "other/web" {
		t.Errorf("dangerous artifacts %+v", dangerousArtifacts)
	}
	_, out = admin.want("GET", "/security/summary", "", 200, "")
	if !strings.Contains(out, `"dangerous_cves":null`) || !strings.Contains(out, `"critical_cnt":1`) {
		t.Errorf("a summary without lists: %s", out)
	}
}

func TestSecurityVulnerabilities(t *testing.T) {
	_, m, url := hubAPI(t)
	admin := client{t, url, "admin", "admin-password"}
	client{t, url, "alice", "alice-password"}.want("GET", "/security/vul", "", 403, "FORBIDDEN")
	client{t: t, url: url}.want("GET", "/security/vul", "", 401, "UNAUTHORIZED")
	for _, bad := range []string{"q=name%3Dx", "q=severity%3Dscary", "q=cvss_score_v3%3D%5B9~7%5D", "tune_count=often", "page_size=1000"} {
		_, out := admin.want("GET", "/security/vul?"+bad, "", 400, "BAD_REQUEST")
		if strings.HasPrefix(bad, "q=") && !strings.Contains(out, "q: ") {
			t.Errorf("%s: %s", bad, out)
		}
	}

	list := func(query string) ([]vulnerabilityItemJSON, string, string) {
		t.Helper()
		resp, out := admin.want("GET", "/security/vul?"+query, "", 200, "")
		var items []vulnerabilityItemJSON
		if err := json.Unmarshal([]byte(out), &items); err != nil {
			t.Fatalf("%s: %v", out, err)
		}
		return items, resp.Header.Get("X-Total-Count"), resp.Header.Get("Link")
	}
	items, total, link := list("q=cve_id%3DCVE-2023-5363&page=1&page_size=1")
	if len(items) != 1 || total != "2" || !strings.Contains(link, `rel="next"`) {
		t.Errorf("page 1: %+v, total %s, link %q", items, total, link)
	}
	first := items[0]
	items, _, link = list("q=cve_id%3DCVE-2023-5363&page=2&page_size=1")
	if len(items) != 1 || items[0].RepositoryName == first.RepositoryName || strings.Contains(link, `rel="next"`) || !strings.Contains(link, `rel="prev"`) {
		t.Errorf("page 2: %+v after %+v, link %q", items, first, link)
	}
	team, _ := m.GetProject(t.Context(), auth.Principal{Name: "admin", Kind: auth.User, Admin: true}, "team")
	items, total, _ = list("q=package%3Dlibssl3,project_id%3D" + jsonUint(team.ID))
	if len(items) != 1 || total != "1" {
		t.Fatalf("libssl3 in team: %+v", items)
	}
	it := items[0]
	if it.RepositoryName != "team/app" || it.ProjectID != team.ID || !slices.Equal(it.Tags, []string{"v1"}) || it.CVEID != "CVE-2023-5363" ||
		it.Severity != "High" || it.CVSSV3Score == nil || *it.CVSSV3Score != 7.5 || it.Version != "3.1.1-r1" || it.FixedVersion != "3.1.4-r0" ||
		it.Desc == "" || len(it.Links) != 1 || it.Digest != digest.FromString("image team/app").String() {
		t.Errorf("an item: %+v", it)
	}
	items, total, _ = list("q=severity%3DLow,tag%3Dprod")
	if len(items) != 1 || total != "1" || items[0].CVEID != "CVE-2024-0001" || items[0].CVSSV3Score != nil {
		t.Errorf("Low with tag prod: %+v (%s)", items, total)
	}
	items, total, _ = list("q=cvss_score_v3%3D%5B7~10%5D&tune_count=true&page_size=10")
	if len(items) != 3 || total != "3" || items[0].CVEID != "CVE-2022-48174" {
		t.Errorf("scored 7 to 10: %+v (%s)", items, total)
	}
}

func jsonUint(n uint64) string { b, _ := json.Marshal(n); return string(b) }
