package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthreg/berth/trust"
)

// trust.trustedRoot is read at start: a missing or malformed file stops
// the server naming it, and without one, identities are refused.
func TestTrustedRootConfig(t *testing.T) {
	v, err := TrustConfig{}.verifier()
	if err != nil {
		t.Fatal(err)
	}
	if err := v.CheckIdentity(trust.Identity{Issuer: "https://issuer.test", Subject: "dev@example.test"}); err == nil {
		t.Error("an identity was accepted without a trusted root")
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "trusted_root.json")
	if err := os.WriteFile(bad, []byte(`{"mediaType":"nope"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{filepath.Join(dir, "missing.json"), bad} {
		if _, err := (TrustConfig{TrustedRoot: path}).verifier(); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("trusted root %s: %v, want an error naming it", path, err)
		}
	}
}
