package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/berthreg/berth/api"
	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/auth/guard"
	"github.com/berthreg/berth/auth/ldap"
	"github.com/berthreg/berth/auth/oidc"
	"github.com/berthreg/berth/auth/session"
	"github.com/berthreg/berth/auth/token"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry"
	"github.com/berthreg/berth/webhook"
)

// adminName is the system administrator the example server keeps.
const adminName = "admin"

// authParts is what setupAuth adds to the server: the registry hooks and
// the token endpoint with its path.
type authParts struct {
	hooks     registry.Hooks
	tokenPath string
	tokens    http.Handler
	admin     http.Handler // the admin API, at api.Prefix
	// scannerToken is the Authorization a scanner pulls one repository
	// with: a bearer token granting pull on it alone, short-lived.
	scannerToken func(ctx context.Context, scanner, repo string) (string, error)
}

// setupAuth loads accounts and policy from store, makes sure the admin
// exists, loads or creates the token key, and builds the guard and the
// token service.
func setupAuth(ctx context.Context, cfg Config, store meta.Store, logger *slog.Logger, apiOpts ...api.Option) (authParts, error) {
	ac := cfg.Auth
	mopts := []accounts.Option{accounts.WithHashCost(ac.HashCost)}
	if lc := ac.LDAP; lc.URL != "" {
		dir, err := ldap.New(ldap.Config{
			URL: lc.URL, StartTLS: lc.StartTLS, BindDN: lc.BindDN, BindPassword: lc.BindPassword,
			BaseDN: lc.BaseDN, UserFilter: lc.UserFilter, GroupBaseDN: lc.GroupBaseDN,
			GroupFilter: lc.GroupFilter, GroupAttribute: lc.GroupAttribute, AdminGroup: lc.AdminGroup,
		})
		if err != nil {
			return authParts{}, fmt.Errorf("auth.ldap: %w", err)
		}
		// Local and OIDC accounts are checked here, directory accounts and
		// unknown names by the directory: never both for one account.
		mopts = append(mopts, accounts.WithDirectory(dir))
	}
	// What features keep of a project goes with it.
	mopts = append(mopts, accounts.WithProjectCleanup(webhook.DeleteProjectPolicies))
	m, err := accounts.New(ctx, store, mopts...)
	if err != nil {
		return authParts{}, fmt.Errorf("auth: %w", err)
	}
	if err := ensureAdmin(ctx, m, store, ac.AdminPassword, cfg.DataDir, logger); err != nil {
		return authParts{}, err
	}
	// Like Harbor, start with a public "library" project owned by admin.
	err = m.CreateProject(ctx, auth.Principal{Name: adminName, Kind: auth.User, Admin: true}, "library", true)
	if err != nil && !errors.Is(err, accounts.ErrExists) {
		return authParts{}, fmt.Errorf("auth: creating project library: %w", err)
	}
	keyPath := ac.TokenKey
	if keyPath == "" {
		keyPath = filepath.Join(cfg.DataDir, "token-key.pem")
	}
	key, err := loadOrCreateKey(keyPath, ac.TokenKey == "")
	if err != nil {
		return authParts{}, fmt.Errorf("auth.tokenKey: %w", err)
	}
	iss, err := token.NewIssuer(key, ac.Service+"-token", ac.TokenLifetime)
	if err != nil {
		return authParts{}, fmt.Errorf("auth.tokenKey: %w", err)
	}
	kid, pub := iss.PublicKey()
	ver, err := token.NewVerifier(iss.Name(), ac.Service, map[string]crypto.PublicKey{kid: pub})
	if err != nil {
		return authParts{}, err
	}
	var authn auth.Authenticator = m
	var authz auth.Authorizer = m.Authorizer()
	if ac.CreateProjectsOnPush {
		authz = m.CreatingProjects()
	}
	limiter := &auth.LoginLimiter{}
	g := &guard.Guard{Realm: ac.Realm, ExternalURL: cfg.ExternalURL, Service: ac.Service, Verifier: ver, Authenticator: authn, Authorizer: authz, Limiter: limiter}
	if ac.RecheckTokens {
		g.Recheck = func(ctx context.Context, subject string) (auth.Principal, bool, error) {
			switch {
			case strings.HasPrefix(subject, scannerSubject):
				return auth.Principal{}, false, nil // a scanner's pull token: no account
			case subject == "":
				return auth.AnonymousPrincipal, true, nil
			}
			p, err := m.Principal(ctx, subject)
			return p, true, err
		}
	}
	svc := &token.Service{Issuer: iss, Name: ac.Service, Authenticator: authn, Authorizer: authz, Limiter: limiter, Logger: logger}
	sessionKey, err := loadOrCreateSecret(filepath.Join(cfg.DataDir, "session-key"))
	if err != nil {
		return authParts{}, fmt.Errorf("auth: session key: %w", err)
	}
	sessions := &session.Sessions{Key: sessionKey, Lifetime: ac.SessionLifetime, Secure: ac.SecureCookies}
	opts := append([]api.Option{api.WithLimiter(limiter), api.WithSessions(sessions)}, apiOpts...)
	if oc := ac.OIDC; oc.Issuer != "" {
		client, err := oidc.New(oidc.Config{
			Issuer: oc.Issuer, ClientID: oc.ClientID, ClientSecret: oc.ClientSecret, RedirectURL: oc.RedirectURL,
			Scopes: oc.Scopes, UsernameClaim: oc.UsernameClaim, GroupsClaim: oc.GroupsClaim, AdminGroup: oc.AdminGroup,
		}, sessions)
		if err != nil {
			return authParts{}, fmt.Errorf("auth.oidc: %w", err)
		}
		opts = append(opts, api.WithOIDC(client, oc.AutoOnboard == nil || *oc.AutoOnboard))
	}
	scanIss, err := token.NewIssuer(key, iss.Name(), cfg.Scan.TokenLifetime)
	if err != nil {
		return authParts{}, fmt.Errorf("scan.tokenLifetime: %w", err)
	}
	parts := authParts{hooks: g.Hooks(), tokens: svc, admin: api.New(m, store, authn, logger, opts...),
		scannerToken: func(_ context.Context, scanner, repo string) (string, error) {
			t, err := scanIss.Issue(scannerSubject+scanner, ac.Service, []auth.Access{{Type: "repository", Name: repo, Actions: []string{auth.ActionPull}}})
			return "Bearer " + t.Token, err
		}}
	if ac.Realm[0] == '/' {
		parts.tokenPath = ac.Realm
	}
	return parts, nil
}

// ensureAdmin sets the admin's password from the configuration, or, on a
// first start without one, generates it and writes it where only the
// server's user can read it.
func ensureAdmin(ctx context.Context, m *accounts.Manager, store meta.Store, password, dataDir string, logger *slog.Logger) error {
	if password != "" {
		if err := m.SetUser(ctx, adminName, password, true); err != nil {
			return fmt.Errorf("auth.adminPassword: %w", err)
		}
		return nil
	}
	err := store.View(ctx, func(tx meta.Tx) error { _, err := accounts.Users.In(tx).Get(adminName); return err })
	if err == nil {
		return nil // kept from an earlier start
	}
	if !errors.Is(err, meta.ErrNotFound) {
		return err
	}
	var b [18]byte
	_, _ = rand.Read(b[:])
	password = base64.RawURLEncoding.EncodeToString(b[:])
	path := filepath.Join(dataDir, "admin-password")
	if err := os.WriteFile(path, []byte(password+"\n"), 0o600); err != nil {
		return fmt.Errorf("auth: writing the generated admin password: %w", err)
	}
	if err := m.SetUser(ctx, adminName, password, true); err != nil {
		return err
	}
	logger.Warn("no auth.adminPassword: generated one for user admin", "file", path)
	return nil
}

// loadOrCreateSecret reads 32 or more secret bytes from path, or generates
// 32 there (mode 0600) when the file does not exist.
func loadOrCreateSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		b = make([]byte, 32)
		_, _ = rand.Read(b)
		return b, os.WriteFile(path, b, 0o600)
	}
	if err == nil && len(b) < 32 {
		err = fmt.Errorf("%s holds %d bytes, fewer than 32", path, len(b))
	}
	return b, err
}

// loadOrCreateKey reads a PEM private key from path, or, when create is
// set and the file does not exist, generates an ECDSA P-256 key there.
func loadOrCreateKey(path string, create bool) (crypto.Signer, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && create {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			return nil, err
		}
		return k, nil
	}
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	var k any
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: %T is not a signing key", path, k)
	}
	return s, nil
}
