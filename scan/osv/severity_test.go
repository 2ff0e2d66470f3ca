package osv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthreg/berth/scan"
)

// record is an OSV record for package p (Debian:12) at every version
// below 2.0-1, with extra top-level and affected-level fields.
func record(id, top, affected string) string {
	if top != "" {
		top = "," + top
	}
	if affected != "" {
		affected = "," + affected
	}
	return `{"id":"` + id + `"` + top + `,"affected":[{"package":{"ecosystem":"Debian:12","name":"p"},
	  "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2.0-1"}]}]` + affected + `}]}`
}

func matchOne(t *testing.T, rec string) scan.Vulnerability {
	t.Helper()
	a, err := Parse([]byte(rec))
	if err != nil {
		t.Fatalf("Parse(%s): %v", rec, err)
	}
	db := &DB{}
	db.Add(a)
	vs, err := db.Match(Package{Ecosystem: "Debian:12", Name: "p", Version: "1.0-1"})
	if err != nil || len(vs) != 1 {
		t.Fatalf("Match(%s): %+v, %v", rec, vs, err)
	}
	return vs[0]
}

const (
	v31Critical = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" // 9.8
	v31Low      = "CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:L/I:N/A:N" // 2.5
	v31None     = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N" // 0.0
	v31Medium   = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L" // 5.3
	v31High     = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N" // 7.5
	v30Medium   = "CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N" // 5.9
	v40Critical = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
	v2High      = "AV:N/AC:L/Au:N/C:P/I:P/A:P" // 7.5
	v2Max       = "AV:N/AC:L/Au:N/C:C/I:C/A:C" // 10.0
)

func sev(entries ...string) string {
	var parts []string
	for i := 0; i+1 < len(entries); i += 2 {
		parts = append(parts, `{"type":"`+entries[i]+`","score":"`+entries[i+1]+`"}`)
	}
	return `"severity":[` + strings.Join(parts, ",") + `]`
}

// TestSeverityFromCVSS: without a severity word the base score of the
// record's vectors decides, on Harbor's scale, and PreferredCVSS carries
// the score and vector.
func TestSeverityFromCVSS(t *testing.T) {
	for _, c := range []struct {
		name, top, affected string
		want                scan.Severity
		v3, v2              float64
		vector              string
		source              string
	}{
		{"v3.1 critical", sev("CVSS_V3", v31Critical), "", scan.SeverityCritical, 9.8, 0, v31Critical, "cvss_v3"},
		{"v3.1 high", sev("CVSS_V3", v31High), "", scan.SeverityHigh, 7.5, 0, v31High, "cvss_v3"},
		{"v3.1 medium", sev("CVSS_V3", v31Medium), "", scan.SeverityMedium, 5.3, 0, v31Medium, "cvss_v3"},
		{"v3.0 medium", sev("CVSS_V3", v30Medium), "", scan.SeverityMedium, 5.9, 0, v30Medium, "cvss_v3"},
		{"v3.1 low", sev("CVSS_V3", v31Low), "", scan.SeverityLow, 2.5, 0, v31Low, "cvss_v3"},
		{"v3.1 none", sev("CVSS_V3", v31None), "", scan.SeverityNegligible, 0, 0, v31None, "cvss_v3"},
		{"v2 high", sev("CVSS_V2", v2High), "", scan.SeverityHigh, 0, 7.5, "", "cvss_v2"},
		{"v2 has no critical", sev("CVSS_V2", v2Max), "", scan.SeverityHigh, 0, 10, "", "cvss_v2"},
		{"v3 before v2", sev("CVSS_V2", v2Max, "CVSS_V3", v31Low), "", scan.SeverityLow, 2.5, 10, v31Low, "cvss_v3"},
		{"v3 before v4", sev("CVSS_V4", v40Critical, "CVSS_V3", v31Medium), "", scan.SeverityMedium, 5.3, 0, v31Medium, "cvss_v3"},
		{"affected's own first", sev("CVSS_V3", v31Critical), sev("CVSS_V3", v31Medium), scan.SeverityMedium, 5.3, 0, v31Medium, "cvss_v3"},
		{"bad vector skipped", sev("CVSS_V3", "CVSS:3.1/AV:X/AC:L", "CVSS_V3", v31High), "", scan.SeverityHigh, 7.5, 0, v31High, "cvss_v3"},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := matchOne(t, record("TEST-1", c.top, c.affected))
			if v.Severity != c.want {
				t.Errorf("severity %s, want %s", v.Severity, c.want)
			}
			if v.PreferredCVSS == nil {
				t.Fatalf("no preferred_cvss")
			}
			if p := v.PreferredCVSS; p.ScoreV3 != c.v3 || p.ScoreV2 != c.v2 || p.VectorV3 != c.vector {
				t.Errorf("preferred_cvss %+v, want v3 %v (%s), v2 %v", *p, c.v3, c.vector, c.v2)
			}
			if v.VendorAttributes["severity_source"] != c.source {
				t.Errorf("severity_source %v, want %s", v.VendorAttributes["severity_source"], c.source)
			}
		})
	}
}

// TestSeverityV4: a v4.0 vector alone rates the vulnerability and is
// kept in the vendor attributes (Harbor's CVSS has no v4 fields).
func TestSeverityV4(t *testing.T) {
	v := matchOne(t, record("TEST-1", sev("CVSS_V4", v40Critical), ""))
	if v.Severity != scan.SeverityCritical || v.PreferredCVSS != nil {
		t.Errorf("severity %s, preferred %+v: want Critical and no v2/v3", v.Severity, v.PreferredCVSS)
	}
	got, _ := v.VendorAttributes["cvss_v4"].(map[string]any)
	if got["score"] != 9.3 || got["vector"] != v40Critical {
		t.Errorf("cvss_v4 %v, want 9.3 %s", got, v40Critical)
	}
}

// TestSeverityWords: a word the record or the distribution states beats
// the score; "not yet assigned" is no word.
func TestSeverityWords(t *testing.T) {
	for _, c := range []struct {
		name, top, affected string
		want                scan.Severity
	}{
		{"record word", sev("CVSS_V3", v31Critical) + `,"database_specific":{"severity":"LOW"}`, "", scan.SeverityLow},
		{"debian unimportant", sev("CVSS_V3", v31Critical), `"ecosystem_specific":{"urgency":"unimportant"}`, scan.SeverityNegligible},
		{"debian unreviewed", "", `"ecosystem_specific":{"urgency":"medium**"}`, scan.SeverityMedium},
		{"debian not yet assigned", sev("CVSS_V3", v31High), `"ecosystem_specific":{"urgency":"not yet assigned"}`, scan.SeverityHigh},
		{"ubuntu word", sev("Ubuntu", "low", "CVSS_V3", v31Critical), "", scan.SeverityLow},
		{"nothing", "", "", scan.SeverityUnknown},
		{"unparseable only", sev("CVSS_V3", "CVSS:3.1/nonsense", "CVSS_V2", "AV:Q"), "", scan.SeverityUnknown},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := matchOne(t, record("TEST-1", c.top, c.affected))
			if v.Severity != c.want {
				t.Errorf("severity %s, want %s", v.Severity, c.want)
			}
		})
	}
	if v := matchOne(t, record("TEST-1", `"database_specific":{"severity":"LOW"},`+sev("CVSS_V3", v31Critical), "")); v.PreferredCVSS == nil || v.PreferredCVSS.ScoreV3 != 9.8 {
		t.Errorf("a word does not drop the scores: %+v", v.PreferredCVSS)
	}
}

// TestReportIDAndWithdrawn: a distribution's per-CVE record is reported
// under the CVE; other ids are kept; withdrawn records match nothing.
func TestReportIDAndWithdrawn(t *testing.T) {
	for id, want := range map[string]string{
		"DEBIAN-CVE-2023-4911":  "CVE-2023-4911",
		"ALPINE-CVE-2022-48174": "CVE-2022-48174",
		"GHSA-xxxx-yyyy-zzzz":   "GHSA-xxxx-yyyy-zzzz",
		"DSA-5514-1":            "DSA-5514-1",
		"X-CVE-20x3-1":          "X-CVE-20x3-1",
		"CVE-2024-1234":         "CVE-2024-1234",
	} {
		v := matchOne(t, record(id, "", ""))
		if v.ID != want {
			t.Errorf("%s reported as %s, want %s", id, v.ID, want)
		}
		if osvID, _ := v.VendorAttributes["osv_id"].(string); want != id && osvID != id {
			t.Errorf("%s: osv_id %q", id, osvID)
		}
	}
	a, _ := Parse([]byte(record("TEST-W", `"withdrawn":"2024-01-01T00:00:00Z"`, "")))
	db := &DB{}
	db.Add(a)
	if vs, _ := db.Match(Package{Ecosystem: "Debian:12", Name: "p", Version: "1.0-1"}); len(vs) != 0 {
		t.Errorf("withdrawn record matched: %+v", vs)
	}
}

func TestLoadRecordsSourceAndTime(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.json"), []byte(record("TEST-1", "", "")), 0o600); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	db, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if db.Source() != dir || db.LoadedAt().Before(before) || db.LoadedAt().After(time.Now()) {
		t.Errorf("source %q loaded at %v", db.Source(), db.LoadedAt())
	}
}
