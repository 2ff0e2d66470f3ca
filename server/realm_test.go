package server

import (
	"net/http"
	"testing"
)

// TestChallengeRealmUsesExternalURL: with externalURL set, a 401's realm
// names it even when the request says Host: evil.example.
func TestChallengeRealmUsesExternalURL(t *testing.T) {
	cfg := testConfig()
	cfg.DataDir = t.TempDir()
	cfg.ExternalURL = "https://registry.example.com"
	host := serve(t, cfg)
	req, err := http.NewRequest(http.MethodGet, "http://"+host+"/v2/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "evil.example"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := `Bearer realm="https://registry.example.com/service/token",service="berth-registry"`
	if got := resp.Header.Get("WWW-Authenticate"); resp.StatusCode != http.StatusUnauthorized || got != want {
		t.Fatalf("ping with Host: evil.example: %d %q, want %q", resp.StatusCode, got, want)
	}
}
