package server

import (
	"net/url"
	"runtime/debug"

	"github.com/berthreg/berth/api"
)

// systemInfo is what the admin API's GET /systeminfo tells of cfg.
func systemInfo(cfg Config, scanning bool) api.SystemInfo {
	info := api.SystemInfo{AuthMode: "db_auth", Version: version(), ExternalURL: cfg.ExternalURL,
		StorageProvider: cfg.Storage.Driver, Scanning: scanning}
	switch {
	case cfg.Auth.OIDC.Issuer != "":
		info.AuthMode = "oidc_auth"
		if u, err := url.Parse(cfg.Auth.OIDC.Issuer); err == nil {
			info.OIDCProviderName = u.Host
		}
	case cfg.Auth.LDAP.URL != "":
		info.AuthMode = "ldap_auth"
	}
	if info.StorageProvider == "" {
		info.StorageProvider = "fs"
	}
	return info
}

// version is the version of the module the running program was built
// from ("devel" when built from a work tree).
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok || bi.Main.Version == "" || bi.Main.Version == "(devel)" {
		return "devel"
	}
	return bi.Main.Version
}
