package ldap

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/berthreg/berth/auth"
)

// testConfig is the directory of scripts/slapd.sh (a real slapd).
func testConfig(t *testing.T) Config {
	t.Helper()
	url := os.Getenv("BERTH_SLAPD_URL")
	if url == "" {
		if testing.Short() {
			t.Skip("BERTH_SLAPD_URL is unset; skipped with -short")
		}
		t.Fatal("BERTH_SLAPD_URL is unset: these tests need slapd. Run them with scripts/slapd.sh -- go test ./auth/ldap")
	}
	return Config{
		URL: url, BaseDN: os.Getenv("BERTH_SLAPD_BASE_DN"),
		BindDN: os.Getenv("BERTH_SLAPD_BIND_DN"), BindPassword: os.Getenv("BERTH_SLAPD_BIND_PASSWORD"),
		GroupBaseDN: "ou=groups," + os.Getenv("BERTH_SLAPD_BASE_DN"), AdminGroup: "admins",
	}
}

func TestAuthenticate(t *testing.T) {
	a, err := New(testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, c := range []struct {
		name, password string
		groups         []string
		admin          bool
	}{
		{"alice", "alice-password", []string{"admins", "devs"}, true},
		{"bob", "bob-password", []string{"devs"}, false},
		{"carol", "carol-password", nil, false},
		{"eve*)(uid=*", "eve-password", nil, false},
	} {
		p, err := a.Authenticate(ctx, c.name, c.password)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if p.Name != c.name || p.Kind != auth.User || !slices.Equal(p.Groups, c.groups) || p.Admin != c.admin {
			t.Errorf("%s: principal %+v, want groups %v admin %v", c.name, p, c.groups, c.admin)
		}
	}
	for _, c := range [][2]string{
		{"alice", "wrong"}, {"alice", ""}, {"nobody", "x"}, {"", ""},
		{"*", "alice-password"},            // a wildcard matching several users
		{"alice)(uid=*", "alice-password"}, // filter injection
		{"eve*", "eve-password"},           // a wildcard matching eve
	} {
		if p, err := a.Authenticate(ctx, c[0], c[1]); !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("%q/%q: %+v, %v; want ErrBadCredentials", c[0], c[1], p, err)
		}
	}
}

func TestDirectoryTrouble(t *testing.T) {
	cfg := testConfig(t)
	cfg.BindPassword = "wrong"
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(t.Context(), "alice", "alice-password"); err == nil || errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("a broken search account: %v, want an error that is not a bad credential", err)
	}
	cfg = testConfig(t)
	cfg.URL = "ldap://127.0.0.1:1"
	a, _ = New(cfg)
	if _, err := a.Authenticate(t.Context(), "alice", "alice-password"); err == nil || errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("an unreachable directory: %v", err)
	}
}

func TestConfigValidation(t *testing.T) {
	for field, cfg := range map[string]Config{
		"URL":         {BaseDN: "dc=x"},
		"URL ":        {URL: "http://x", BaseDN: "dc=x"},
		"BaseDN":      {URL: "ldap://x"},
		"UserFilter":  {URL: "ldap://x", BaseDN: "dc=x", UserFilter: "(uid=x)"},
		"GroupFilter": {URL: "ldap://x", BaseDN: "dc=x", GroupFilter: "(member=%s"},
	} {
		if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), strings.TrimSpace(field)) {
			t.Errorf("bad %s: %v", field, err)
		}
	}
}
