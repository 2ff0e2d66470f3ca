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
	env := map[string]string{"BERTH_ADDR": "127.0.0.1:7000"}
	c, err := loadConfig(p, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:7000" || !c.Registry.SparseManifests {
		t.Fatalf("config %+v", c)
	}
}

func TestBadConfigNamesTheKey(t *testing.T) {
	cases := map[string]struct {
		yaml string
		env  map[string]string
		key  string
	}{
		"unknown key":     {yaml: "adr: x\n", key: "adr"},
		"bad driver":      {yaml: "storage:\n  driver: tape\n", key: "storage.driver"},
		"bad size":        {yaml: "registry:\n  maxManifestSize: -1\n", key: "registry.maxManifestSize"},
		"bad log level":   {yaml: "logLevel: loud\n", key: "logLevel"},
		"bad env number":  {env: map[string]string{"BERTH_MAX_BLOB_SIZE": "big"}, key: "BERTH_MAX_BLOB_SIZE"},
		"bad env bool":    {env: map[string]string{"BERTH_DELETES": "perhaps"}, key: "BERTH_DELETES"},
		"s3 no bucket":    {yaml: "storage:\n  driver: s3\n", key: "storage.s3.bucket"},
		"s3 half creds":   {yaml: "storage:\n  driver: s3\n  s3:\n    bucket: b\n    accessKey: k\n", key: "storage.s3.secretKey"},
		"s3 endpoint":     {yaml: "storage:\n  driver: s3\n  s3:\n    bucket: b\n    endpoint: 127.0.0.1:9000\n", key: "storage.s3.endpoint"},
		"s3 part size":    {env: map[string]string{"BERTH_STORAGE_DRIVER": "s3", "BERTH_S3_BUCKET": "b", "BERTH_S3_PART_SIZE": "1024"}, key: "storage.s3.partSize"},
		"s3 redirect":     {yaml: "storage:\n  driver: s3\n  s3:\n    bucket: b\n    redirectExpiry: -5m\n", key: "storage.s3.redirectExpiry"},
		"s3 redirect env": {env: map[string]string{"BERTH_STORAGE_DRIVER": "s3", "BERTH_S3_BUCKET": "b", "BERTH_S3_REDIRECT_EXPIRY": "soon"}, key: "BERTH_S3_REDIRECT_EXPIRY"},
		"s3 sse":          {yaml: "storage:\n  driver: s3\n  s3:\n    bucket: b\n    serverSideEncryption: rot13\n", key: "storage.s3.serverSideEncryption"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			p := ""
			if c.yaml != "" {
				p = filepath.Join(t.TempDir(), "c.yaml")
				if err := os.WriteFile(p, []byte(c.yaml), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, err := loadConfig(p, func(k string) string { return c.env[k] })
			if err == nil || !strings.Contains(err.Error(), c.key) {
				t.Fatalf("error %v does not name %s", err, c.key)
			}
		})
	}
}
