package server

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// AuthConfig configures users, projects, robots and the token service.
type AuthConfig struct {
	// Disabled runs the registry open, without any credentials: only for
	// throw-away set-ups (BERTH_AUTH_DISABLED).
	Disabled bool `yaml:"disabled"`
	// AdminPassword is the password of the "admin" system administrator,
	// set at every start (BERTH_ADMIN_PASSWORD). When empty on the first
	// start, a random one is generated and written to
	// <dataDir>/admin-password (mode 0600).
	AdminPassword string `yaml:"adminPassword"`
	// Service is the token audience and challenge service name
	// (BERTH_AUTH_SERVICE).
	Service string `yaml:"service"`
	// Realm is the token endpoint clients are sent to; a path is served by
	// this server and made absolute per request (BERTH_AUTH_REALM).
	Realm string `yaml:"realm"`
	// TokenLifetime is how long a token is valid (BERTH_TOKEN_LIFETIME):
	// the longest a token keeps working after its account is deleted,
	// disabled or loses a role, unless RecheckTokens is set.
	TokenLifetime time.Duration `yaml:"tokenLifetime"`
	// RecheckTokens makes every bearer-token request also need the rights
	// the token's account holds now (a store look-up per request), so
	// that a token loses at once what its account lost
	// (BERTH_RECHECK_TOKENS).
	RecheckTokens bool `yaml:"recheckTokens"`
	// TokenKey is a PEM file with the token signing key (RSA or ECDSA
	// P-256, PKCS#8, PKCS#1 or SEC 1); empty uses <dataDir>/token-key.pem,
	// generated on first start (BERTH_TOKEN_KEY).
	TokenKey string `yaml:"tokenKey"`
	// CreateProjectsOnPush lets a user's first push to a missing project
	// create it, with the user as its projectAdmin; otherwise such a push
	// is refused (BERTH_CREATE_PROJECTS_ON_PUSH).
	CreateProjectsOnPush bool `yaml:"createProjectsOnPush"`
	// LDAP, when its url is set, checks the logins local accounts do not
	// know against a directory.
	LDAP LDAPConfig `yaml:"ldap"`
	// OIDC, when its issuer is set, lets people sign in through an OpenID
	// Connect provider at /c/oidc/login.
	OIDC OIDCConfig `yaml:"oidc"`
	// SessionLifetime is how long a browser session (POST /c/login, OIDC
	// sign-in) lasts (BERTH_SESSION_LIFETIME). The key that signs session
	// cookies is generated into <dataDir>/session-key.
	SessionLifetime time.Duration `yaml:"sessionLifetime"`
	// SecureCookies marks session cookies Secure: set it whenever the
	// server is reached over HTTPS, as it should be (BERTH_SECURE_COOKIES).
	SecureCookies bool `yaml:"secureCookies"`
	// HashCost is the bcrypt cost of new passwords and secrets, 4 to 31
	// (BERTH_AUTH_HASH_COST, default 10). Lower only for tests.
	HashCost int `yaml:"hashCost"`
}

// OIDCConfig configures sign-in through an OpenID Connect provider (see
// auth/oidc.Config).
type OIDCConfig struct {
	// Issuer is the provider's issuer URL (BERTH_OIDC_ISSUER).
	Issuer string `yaml:"issuer"`
	// ClientID and ClientSecret are the registry's client at the provider
	// (BERTH_OIDC_CLIENT_ID, BERTH_OIDC_CLIENT_SECRET).
	ClientID     string `yaml:"clientID"`
	ClientSecret string `yaml:"clientSecret"`
	// RedirectURL is https://<this server>/c/oidc/callback, as registered
	// at the provider (BERTH_OIDC_REDIRECT_URL).
	RedirectURL string `yaml:"redirectURL"`
	// Scopes are asked besides openid; default profile, email
	// (BERTH_OIDC_SCOPES, comma-separated).
	Scopes []string `yaml:"scopes"`
	// UsernameClaim (default preferred_username), GroupsClaim and
	// AdminGroup map claims to accounts (BERTH_OIDC_USERNAME_CLAIM,
	// BERTH_OIDC_GROUPS_CLAIM, BERTH_OIDC_ADMIN_GROUP).
	UsernameClaim string `yaml:"usernameClaim"`
	GroupsClaim   string `yaml:"groupsClaim"`
	AdminGroup    string `yaml:"adminGroup"`
	// AutoOnboard creates the account of a person signing in for the
	// first time; when false an administrator must have created it
	// (BERTH_OIDC_AUTO_ONBOARD, default true).
	AutoOnboard *bool `yaml:"autoOnboard"`
}

// LDAPConfig configures the LDAP authenticator (see auth/ldap.Config).
type LDAPConfig struct {
	// URL is ldap://host:389 or ldaps://host:636 (BERTH_LDAP_URL).
	URL string `yaml:"url"`
	// StartTLS upgrades ldap:// (BERTH_LDAP_STARTTLS).
	StartTLS bool `yaml:"startTLS"`
	// BindDN and BindPassword are the search account
	// (BERTH_LDAP_BIND_DN, BERTH_LDAP_BIND_PASSWORD).
	BindDN       string `yaml:"bindDN"`
	BindPassword string `yaml:"bindPassword"`
	// BaseDN is where users are searched (BERTH_LDAP_BASE_DN).
	BaseDN string `yaml:"baseDN"`
	// UserFilter, e.g. "(uid=%s)" (BERTH_LDAP_USER_FILTER).
	UserFilter string `yaml:"userFilter"`
	// GroupBaseDN, GroupFilter ("(member=%s)") and GroupAttribute ("cn")
	// find the user's groups (BERTH_LDAP_GROUP_BASE_DN,
	// BERTH_LDAP_GROUP_FILTER, BERTH_LDAP_GROUP_ATTRIBUTE).
	GroupBaseDN    string `yaml:"groupBaseDN"`
	GroupFilter    string `yaml:"groupFilter"`
	GroupAttribute string `yaml:"groupAttribute"`
	// AdminGroup's members are system administrators
	// (BERTH_LDAP_ADMIN_GROUP).
	AdminGroup string `yaml:"adminGroup"`
}

// validate checks the auth settings; anonymousMount is the registry's
// setting, which would let anyone mount any blob by digest.
func (c AuthConfig) validate(anonymousMount *bool) error {
	if c.Disabled {
		return nil
	}
	switch {
	case anonymousMount != nil && *anonymousMount:
		return errors.New("config: registry.anonymousMount cannot be true with auth on: it would let anyone link any blob by digest")
	case c.AdminPassword != "" && (len(c.AdminPassword) < 8 || len(c.AdminPassword) > 72):
		return errors.New("config: auth.adminPassword must be 8 to 72 characters")
	case c.Service == "":
		return errors.New("config: auth.service must not be empty")
	case c.Realm == "" || (!strings.HasPrefix(c.Realm, "/") && !strings.HasPrefix(c.Realm, "http://") && !strings.HasPrefix(c.Realm, "https://")):
		return fmt.Errorf("config: auth.realm %q must be a path or an http(s) URL", c.Realm)
	case c.TokenLifetime < time.Minute || c.TokenLifetime > 24*time.Hour:
		return fmt.Errorf("config: auth.tokenLifetime %s must be between 1m and 24h", c.TokenLifetime)
	case c.HashCost < bcrypt.MinCost || c.HashCost > bcrypt.MaxCost:
		return fmt.Errorf("config: auth.hashCost %d must be between %d and %d", c.HashCost, bcrypt.MinCost, bcrypt.MaxCost)
	case c.SessionLifetime < 0 || c.SessionLifetime > 7*24*time.Hour:
		return fmt.Errorf("config: auth.sessionLifetime %s must be between 0 (8h) and 168h", c.SessionLifetime)
	}
	return nil
}
