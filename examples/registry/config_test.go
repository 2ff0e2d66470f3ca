package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigDefaultsNeedNoFile(t *testing.T) {
	c, err := loadConfig("", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:5000" || c.DataDir != "./data" || c.Storage.Driver != "fs" {
		t.Fatalf("defaults %+v", c)
	}
}

func TestConfigFileAndEnvOverride(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte("addr: 127.0.0.1:6000\nregistry:\n  sparseManifests: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"BERTH_ADDR": "127.0.0.1:7000", "BERTH_RECHECK_TOKENS": "true"}
	c, err := loadConfig(p, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:7000" || !c.Registry.SparseManifests || !c.Auth.RecheckTokens {
		t.Fatalf("config %+v", c)
	}
	env["BERTH_OUTBOUND_ALLOW"] = "10.0.0.0/8,trivy-adapter"
	if c, err = loadConfig(p, func(k string) string { return env[k] }); err != nil || len(c.Outbound.Allow) != 2 || c.Outbound.Allow[1] != "trivy-adapter" {
		t.Fatalf("outbound.allow %q, %v", c.Outbound.Allow, err)
	}
}

// TestBadConfigFileNamesTheKey: the file's unknown keys, bad values and
// bad environment values stop loading with the key named (the whole
// table of keys is package server's TestBadConfigNamesTheKey).
func TestBadConfigFileNamesTheKey(t *testing.T) {
	for _, c := range []struct {
		yaml string
		env  map[string]string
		key  string
	}{
		{yaml: "adr: x\n", key: "adr"},
		{yaml: "storage:\n  driver: oss\n  oss:\n    accessKey: k\n", key: "accessKey"},
		{yaml: "registry:\n  maxManifestSize: -1\n", key: "registry.maxManifestSize"},
		{env: map[string]string{"BERTH_DELETES": "perhaps"}, key: "BERTH_DELETES"},
	} {
		p := ""
		if c.yaml != "" {
			p = filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(p, []byte(c.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := loadConfig(p, func(k string) string { return c.env[k] }); err == nil || !strings.Contains(err.Error(), c.key) {
			t.Errorf("error %v does not name %s", err, c.key)
		}
	}
	if _, err := loadConfig(filepath.Join(t.TempDir(), "missing.yaml"), func(string) string { return "" }); err == nil {
		t.Error("a missing config file was accepted")
	}
}
