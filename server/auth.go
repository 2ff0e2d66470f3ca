package server

import (
	"context"
	"crypto"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/berthreg/berth/api"
	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/auth/guard"
	"github.com/berthreg/berth/auth/ldap"
	"github.com/berthreg/berth/auth/oidc"
	"github.com/berthreg/berth/auth/session"
	"github.com/berthreg/berth/auth/token"
	"github.com/berthreg/berth/generation"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry"
	"github.com/berthreg/berth/webhook"
)

// adminName is the system administrator the server keeps.
const adminName = "admin"

// authParts is what setupAuth adds to the server: the registry hooks, the
// token endpoint with its path, and what the admin API is built from.
type authParts struct {
	hooks     registry.Hooks
	tokenPath string
	tokens    http.Handler
	// scannerToken is the Authorization a scanner pulls one repository
	// with: a bearer token granting pull on it alone, short-lived.
	scannerToken func(ctx context.Context, scanner, repo string) (string, error)
	// preheatToken is the Authorization a P2P provider pulls one
	// repository with, for subject: a bearer token granting pull on it
	// alone, lasting preheatTokenLifetime.
	preheatToken func(ctx context.Context, subject, repo string) (string, error)

	manager  *accounts.Manager
	authn    auth.Authenticator
	apiOpts  []api.Option
	password string // auth.adminPassword
	dataDir  string
}

// setupAuth loads accounts and policy from store, reads or creates the
// token and session keys, and builds the guard and the token service;
// authn, when not nil, checks credentials instead of the accounts;
// watcher reloads the policy when another instance changes it. The
// admin and the library project are made by provision, later.
func setupAuth(ctx context.Context, cfg Config, store meta.Store, authn auth.Authenticator, watcher *generation.Watcher, logger *slog.Logger, cleanups ...accounts.ProjectCleanup) (authParts, error) {
	ac := cfg.Auth
	mopts := []accounts.Option{accounts.WithHashCost(ac.HashCost), accounts.WithWatcher(watcher)}
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
	mopts = append(mopts, accounts.WithProjectCleanup(append([]accounts.ProjectCleanup{webhook.DeleteProjectPolicies}, cleanups...)...))
	m, err := accounts.New(ctx, store, mopts...)
	if err != nil {
		return authParts{}, fmt.Errorf("auth: %w", err)
	}
	key, err := tokenKey(ctx, cfg, store)
	if err != nil {
		return authParts{}, err
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
	if authn == nil {
		authn = m
	} else {
		authn = hostWithRobots(authn, m)
	}
	var authz auth.Authorizer = m.Authorizer()
	if ac.CreateProjectsOnPush {
		authz = m.CreatingProjects()
	}
	limiter, err := auth.NewLoginLimiter()
	if err != nil {
		return authParts{}, fmt.Errorf("auth: %w", err)
	}
	gopts := []guard.Option{guard.WithExternalURL(cfg.ExternalURL), guard.WithAuthenticator(authn), guard.WithLimiter(limiter)}
	// The account a token's subject names, for rechecks and for what a
	// token's account may do beyond its scope (the content trust gate).
	principal := func(ctx context.Context, subject string) (auth.Principal, bool, error) {
		switch {
		case strings.HasPrefix(subject, scannerSubject), strings.HasPrefix(subject, preheatSubject):
			return auth.Principal{}, false, nil // a scanner's or a P2P provider's pull token: no account
		case subject == "":
			return auth.AnonymousPrincipal, true, nil
		}
		p, err := m.Principal(ctx, subject)
		return p, true, err
	}
	gopts = append(gopts, guard.WithPrincipals(principal))
	if ac.RecheckTokens {
		gopts = append(gopts, guard.WithRecheck(principal))
	}
	g, err := guard.New(ac.Realm, ac.Service, ver, authz, gopts...)
	if err != nil {
		return authParts{}, fmt.Errorf("auth: %w", err)
	}
	svc, err := token.NewService(iss, ac.Service, authn, authz, token.WithLimiter(limiter), token.WithLogger(logger))
	if err != nil {
		return authParts{}, fmt.Errorf("auth: %w", err)
	}
	skey, err := sessionKey(ctx, cfg, store)
	if err != nil {
		return authParts{}, err
	}
	sessions, err := session.New(skey, session.WithLifetime(ac.SessionLifetime), session.WithSecure(ac.SecureCookies))
	if err != nil {
		return authParts{}, fmt.Errorf("auth: %w", err)
	}
	apiOpts := []api.Option{api.WithLimiter(limiter), api.WithSessions(sessions)}
	if oc := ac.OIDC; oc.Issuer != "" {
		client, err := oidc.New(oidc.Config{
			Issuer: oc.Issuer, ClientID: oc.ClientID, ClientSecret: oc.ClientSecret, RedirectURL: oc.RedirectURL,
			Scopes: oc.Scopes, UsernameClaim: oc.UsernameClaim, GroupsClaim: oc.GroupsClaim, AdminGroup: oc.AdminGroup,
		}, sessions)
		if err != nil {
			return authParts{}, fmt.Errorf("auth.oidc: %w", err)
		}
		apiOpts = append(apiOpts, api.WithOIDC(client, oc.AutoOnboard == nil || *oc.AutoOnboard))
	}
	scanIss, err := token.NewIssuer(key, iss.Name(), cfg.Scan.TokenLifetime)
	if err != nil {
		return authParts{}, fmt.Errorf("scan.tokenLifetime: %w", err)
	}
	preheatIss, err := token.NewIssuer(key, iss.Name(), preheatTokenLifetime)
	if err != nil {
		return authParts{}, err
	}
	parts := authParts{hooks: g.Hooks(), tokens: svc, manager: m, authn: authn, apiOpts: apiOpts,
		password: ac.AdminPassword, dataDir: cfg.DataDir,
		scannerToken: func(_ context.Context, scanner, repo string) (string, error) {
			t, err := scanIss.Issue(scannerSubject+scanner, ac.Service, []auth.Access{{Type: "repository", Name: repo, Actions: []string{auth.ActionPull}}})
			return "Bearer " + t.Token, err
		},
		preheatToken: func(_ context.Context, subject, repo string) (string, error) {
			t, err := preheatIss.Issue(subject, ac.Service, []auth.Access{{Type: "repository", Name: repo, Actions: []string{auth.ActionPull}}})
			return "Bearer " + t.Token, err
		}}
	if ac.Realm[0] == '/' {
		parts.tokenPath = ac.Realm
	}
	return parts, nil
}

// hostWithRobots checks robot accounts ("robot$…") with the server's
// accounts m and every other name with the host's authenticator: robots
// are made through Berth (its API, or Accounts in Go) and only Berth
// keeps their secrets, so a host that brings its own people still hands
// its build systems Berth's robots.
func hostWithRobots(host auth.Authenticator, m *accounts.Manager) auth.Authenticator {
	return auth.AuthenticatorFunc(func(ctx context.Context, name, secret string) (auth.Principal, error) {
		if accounts.IsRobot(name) {
			return m.Authenticate(ctx, name, secret)
		}
		return host.Authenticate(ctx, name, secret)
	})
}

// adminAPI is the admin API over the accounts, with opts besides the
// auth's own.
func (a authParts) adminAPI(store meta.Store, logger *slog.Logger, opts ...api.Option) http.Handler {
	return api.New(a.manager, store, a.authn, logger, append(a.apiOpts[:len(a.apiOpts):len(a.apiOpts)], opts...)...)
}

// provision makes sure the admin exists, with the configured password,
// and the public "library" project, owned by the admin, as in Harbor.
func (a authParts) provision(ctx context.Context, store meta.Store, logger *slog.Logger) error {
	if err := ensureAdmin(ctx, a.manager, store, a.password, a.dataDir, logger); err != nil {
		return err
	}
	err := a.manager.CreateProject(ctx, auth.Principal{Name: adminName, Kind: auth.User, Admin: true}, "library", true)
	if err != nil && !errors.Is(err, accounts.ErrExists) {
		return fmt.Errorf("auth: creating project library: %w", err)
	}
	return nil
}

// ensureAdmin gives the admin the configured password, or, on a first
// start without one, generates it and writes it where only the server's
// user can read it. Instances starting together on one store neither
// fail nor undo each other: a configured password is only written when
// the stored one differs (an instance writing it again would end the
// admin's sessions on all of them), and a generated admin is created
// only if none exists, by one instance (the others leave it alone).
func ensureAdmin(ctx context.Context, m *accounts.Manager, store meta.Store, password, dataDir string, logger *slog.Logger) error {
	var (
		u   accounts.User
		err = store.View(ctx, func(tx meta.Tx) error { var err error; u, err = accounts.Users.In(tx).Get(adminName); return err })
	)
	switch {
	case err != nil && !errors.Is(err, meta.ErrNotFound):
		return err
	case password != "":
		if err == nil && u.Admin && u.Source == accounts.SourceLocal && bcrypt.CompareHashAndPassword(u.PasswordHash, []byte(password)) == nil {
			return nil // as configured
		}
		if err := m.SetUser(ctx, adminName, password, true); err != nil {
			return fmt.Errorf("auth.adminPassword: %w", err)
		}
		return nil
	case err == nil:
		return nil // kept from an earlier start, or made by another instance
	}
	var b [18]byte
	_, _ = rand.Read(b[:])
	password = base64.RawURLEncoding.EncodeToString(b[:])
	path := filepath.Join(dataDir, "admin-password")
	// Written aside first, and put in place once the admin is created
	// with it: the file never names a password the admin does not have.
	f, err := os.CreateTemp(dataDir, ".admin-password-*")
	if err != nil {
		return fmt.Errorf("auth: writing the generated admin password: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = f.WriteString(password + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("auth: writing the generated admin password: %w", err)
	}
	err = m.CreateUser(ctx, accounts.User{Name: adminName, Admin: true}, password)
	if errors.Is(err, accounts.ErrExists) {
		logger.Warn("no auth.adminPassword: user admin was created meanwhile by another instance, whose data directory holds its generated password")
		return nil
	}
	if err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("auth: writing the generated admin password: %w", err)
	}
	logger.Warn("no auth.adminPassword: generated one for user admin", "file", path)
	return nil
}
