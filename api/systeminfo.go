package api

import (
	"net/http"
	"time"

	"github.com/berthreg/berth/auth"
)

// SystemInfo is what GET /systeminfo tells, as the web portal needs it
// to draw itself (Harbor's fields).
type SystemInfo struct {
	// AuthMode is "db_auth", "ldap_auth" or "oidc_auth".
	AuthMode string
	// OIDCProviderName names the OpenID Connect provider, with oidc_auth.
	OIDCProviderName string
	// Version is Berth's version.
	Version string
	// ExternalURL is the registry's URL as clients reach it.
	ExternalURL string
	// StorageProvider names the storage driver ("filesystem", "s3", …).
	StorageProvider string
	// Scanning reports that vulnerability scanning is on.
	Scanning bool
	// SelfRegistration reports that people may create their own accounts.
	SelfRegistration bool
	// BannerMessage is a message the portal shows every visitor.
	BannerMessage string
}

// WithSystemInfo sets what GET /systeminfo tells (default: db_auth and
// nothing else).
func WithSystemInfo(info SystemInfo) Option { return func(h *Handler) { h.info = info } }

// systemInfo is GET /systeminfo: to anyone, the sign-in mode and the
// version; to signed-in callers, also the registry's URL, storage and
// features.
func (h *Handler) systemInfo(w http.ResponseWriter, _ *http.Request, p auth.Principal) error {
	info := h.info
	if info.AuthMode == "" {
		info.AuthMode = "db_auth"
	}
	out := map[string]any{
		"auth_mode": info.AuthMode, "primary_auth_mode": info.AuthMode != "db_auth", "self_registration": info.SelfRegistration,
		"harbor_version": info.Version, "banner_message": info.BannerMessage, "with_notary": false, "with_chartmuseum": false,
		"current_time": time.Now().UTC().Format(time.RFC3339),
	}
	if info.OIDCProviderName != "" {
		out["oidc_provider_name"] = info.OIDCProviderName
	}
	if p.Kind != auth.Anonymous {
		out["external_url"] = info.ExternalURL
		out["registry_url"] = info.ExternalURL
		out["registry_storage_provider_name"] = info.StorageProvider
		out["project_creation_restriction"] = "everyone"
		out["read_only"] = false
		out["notification_enable"] = true
		out["with_trivy"] = info.Scanning
		out["scanning"] = info.Scanning
		out["has_ca_root"] = false
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
