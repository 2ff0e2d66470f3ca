package api

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/scan"
	"github.com/berthreg/berth/scan/engine"
)

// FuzzProjectScanJSON: any project body's scanning part either is
// refused with a message naming a field, or changes the settings into
// ones whose severity is on Harbor's scale and whose allowlist has no
// empty ids, and which read back through the project's JSON. (The rules
// themselves are the scan service's: scan/engine's
// FuzzProjectScanSettings.)
func FuzzProjectScanJSON(f *testing.F) {
	for _, s := range []string{
		`{"metadata":{"auto_scan":"true","prevent_vul":"true","severity":"high","prevent_unscanned":"false"}}`,
		`{"cve_allowlist":{"expires_at":1900000000,"items":[{"cve_id":"CVE-2023-5363"},{"cve_id":"CVE-2024-0727","expires_at":5}]}}`,
		`{"metadata":{"severity":"none"}}`, `{"metadata":{"severity":"CRITICAL"}}`, `{"metadata":{"auto_scan":"maybe"}}`,
		`{"cve_allowlist":{"items":[{"cve_id":""}]}}`, `{"cve_allowlist":{"items":[{"cve_id":"x","expires_at":-1}]}}`, `{}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var req projectReq
		if err := json.Unmarshal([]byte(body), &req); err != nil {
			return // the handler answers 400 with the decoder's message
		}
		change, err := req.scanChange()
		if err != nil {
			if e := toAPIError(err); e.status != 400 {
				t.Fatalf("refusal %v answers %d, want 400", err, e.status)
			}
			field, _, ok := strings.Cut(err.Error(), ": ")
			if !ok || field == "" || strings.Contains(field, " ") {
				t.Fatalf("refusal %q names no field", err)
			}
			return
		}
		var ps accounts.ProjectScan
		if change != nil {
			if err := change.Apply(&ps); err != nil {
				t.Fatalf("a checked change does not apply: %v", err)
			}
		}
		if ps.Severity != "" && !scan.Severity(ps.Severity).Valid() {
			t.Fatalf("severity %q is not on the scale", ps.Severity)
		}
		for _, a := range ps.Allowlist {
			if strings.TrimSpace(a.ID) == "" {
				t.Fatalf("an allowlist entry without an id: %+v", ps.Allowlist)
			}
		}
		if err := engine.GateOf(ps).Check(); err != nil {
			t.Fatalf("settings make a bad gate: %v", err)
		}
		shown := toProjectJSON(accounts.Project{Name: "p", Scan: ps}, auth.AnonymousPrincipal)
		raw, _ := json.Marshal(projectReq{Metadata: &shown.Metadata, CVEAllowlist: shown.CVEAllowlist})
		var again projectReq
		if err := json.Unmarshal(raw, &again); err != nil {
			t.Fatal(err)
		}
		back, err := again.scanChange()
		if err != nil {
			t.Fatalf("the project's own JSON %s is refused: %v", raw, err)
		}
		var ps2 accounts.ProjectScan
		if back != nil {
			if err := back.Apply(&ps2); err != nil {
				t.Fatal(err)
			}
		}
		a, _ := json.Marshal(ps)
		b, _ := json.Marshal(ps2)
		if string(a) != string(b) {
			t.Fatalf("settings do not read back:\n%s\n%s", a, b)
		}
	})
}
