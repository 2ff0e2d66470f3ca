package server

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// With quota.enabled false nothing is counted and the quotas API says
// so; by default it serves the projects' quotas.
func TestQuotaEnabledSetting(t *testing.T) {
	for _, enabled := range []bool{true, false} {
		cfg := testConfig()
		cfg.DataDir = t.TempDir()
		cfg.Auth.AdminPassword = "admin-password"
		cfg.Quota.Enabled = &enabled
		host := serve(t, cfg)
		do := func(method, path, body string) (int, string) {
			t.Helper()
			req, err := http.NewRequest(method, "http://"+host+"/api/v2.0"+path, strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.SetBasicAuth("admin", "admin-password")
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		if code, out := do("POST", "/projects", `{"project_name":"team","storage_limit":1000}`); code != http.StatusCreated {
			t.Fatalf("enabled=%v: creating a project: %d %s", enabled, code, out)
		}
		code, out := do("GET", "/quotas/team", "")
		switch {
		case enabled && (code != http.StatusOK || !strings.Contains(out, `"storage":1000`)):
			t.Errorf("quotas on: GET /quotas/team = %d %s", code, out)
		case !enabled && code != http.StatusNotImplemented:
			t.Errorf("quotas off: GET /quotas/team = %d %s, want 501", code, out)
		}
	}
}
