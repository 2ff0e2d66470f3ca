package oidc

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/session"
)

// loginCookie keeps a login in progress; loginPurpose seals it.
const (
	loginCookie   = "berth_oidc_login"
	loginPurpose  = "oidc-login"
	loginLifetime = 10 * time.Minute
)

// ErrLogin reports a failed sign-in: a callback without the login in
// progress, a provider error, a token that does not verify, a missing
// claim. The wrapped message says which.
var ErrLogin = errors.New("oidc: sign-in failed")

// Config configures a Client.
type Config struct {
	// Issuer is the provider's issuer URL; its discovery document is at
	// Issuer + "/.well-known/openid-configuration".
	Issuer string
	// ClientID and ClientSecret are this registry's credentials at the
	// provider.
	ClientID, ClientSecret string
	// RedirectURL is the absolute URL of the callback endpoint, as
	// registered at the provider.
	RedirectURL string
	// Scopes are requested besides "openid" (default "profile", "email";
	// add the provider's groups scope when it has one).
	Scopes []string
	// UsernameClaim names the claim that becomes a new account's name
	// (default "preferred_username").
	UsernameClaim string
	// GroupsClaim names the claim listing the person's groups ("" for
	// none).
	GroupsClaim string
	// AdminGroup, when set, makes members of that group system
	// administrators and everyone else not (needs GroupsClaim).
	AdminGroup string
	// HTTPClient makes the calls to the provider (default: a client with
	// a 30 s timeout); set it for a private CA.
	HTTPClient *http.Client
}

// Client runs the authorization code flow against one provider. Create it
// with New; it is safe for concurrent use.
type Client struct {
	cfg      Config
	sessions *session.Sessions

	mu       sync.Mutex
	provider *gooidc.Provider // discovered on first use
}

// New checks cfg and returns a Client that seals logins in progress with
// sessions. The provider is discovered on first use, so a provider that is
// down at start-up delays only sign-ins.
func New(cfg Config, sessions *session.Sessions) (*Client, error) {
	for name, v := range map[string]string{"issuer": cfg.Issuer, "clientID": cfg.ClientID, "redirectURL": cfg.RedirectURL} {
		if v == "" {
			return nil, fmt.Errorf("oidc: %s is required", name)
		}
	}
	for name, v := range map[string]string{"issuer": cfg.Issuer, "redirectURL": cfg.RedirectURL} {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("oidc: %s %q is not an http(s) URL", name, v)
		}
	}
	if cfg.AdminGroup != "" && cfg.GroupsClaim == "" {
		return nil, errors.New("oidc: adminGroup needs groupsClaim")
	}
	if sessions == nil {
		return nil, errors.New("oidc: New needs sessions")
	}
	if cfg.Scopes == nil {
		cfg.Scopes = []string{"profile", "email"}
	}
	if cfg.UsernameClaim == "" {
		cfg.UsernameClaim = "preferred_username"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{cfg: cfg, sessions: sessions}, nil
}

// discover returns the provider, fetching its discovery document the
// first time it succeeds.
func (c *Client) discover(ctx context.Context) (*gooidc.Provider, context.Context, error) {
	ctx = gooidc.ClientContext(ctx, c.cfg.HTTPClient)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.provider == nil {
		p, err := gooidc.NewProvider(ctx, c.cfg.Issuer)
		if err != nil {
			return nil, ctx, fmt.Errorf("oidc: discovering %s: %w", c.cfg.Issuer, err)
		}
		c.provider = p
	}
	return c.provider, ctx, nil
}

func (c *Client) oauth2Config(p *gooidc.Provider) *oauth2.Config {
	return &oauth2.Config{
		ClientID: c.cfg.ClientID, ClientSecret: c.cfg.ClientSecret, RedirectURL: c.cfg.RedirectURL,
		Endpoint: p.Endpoint(), Scopes: append([]string{gooidc.ScopeOpenID}, c.cfg.Scopes...),
	}
}

func random() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// LocalPath returns redirect if it is a path on this server ("/…", not
// "//…" nor "/\…"), else "/": sign-ins never send a browser elsewhere.
func LocalPath(redirect string) string {
	u, err := url.Parse(redirect)
	if err != nil || redirect == "" || redirect[0] != '/' || strings.HasPrefix(redirect, "//") ||
		strings.HasPrefix(redirect, "/\\") || u.Scheme != "" || u.Host != "" {
		return "/"
	}
	return redirect
}

// Begin starts a sign-in: it remembers the login in progress (state,
// nonce, PKCE verifier, where to return: a local path) in a cookie and
// redirects the browser to the provider.
func (c *Client) Begin(w http.ResponseWriter, r *http.Request, redirect string) error {
	p, _, err := c.discover(r.Context())
	if err != nil {
		return err
	}
	state, nonce, verifier := random(), random(), oauth2.GenerateVerifier()
	data := map[string]string{"state": state, "nonce": nonce, "verifier": verifier, "redirect": LocalPath(redirect)}
	if err := c.sessions.Seal(w, loginCookie, loginPurpose, data, loginLifetime); err != nil {
		return err
	}
	to := c.oauth2Config(p).AuthCodeURL(state, gooidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier))
	http.Redirect(w, r, to, http.StatusFound)
	return nil
}

// Complete finishes a sign-in at the callback: it checks the state
// against the login in progress, exchanges the code (with the PKCE
// verifier), verifies the ID token (signature, issuer, audience, expiry,
// nonce) and returns the identity and the local path to return to. Every
// failure wraps ErrLogin, except a provider that cannot be reached.
func (c *Client) Complete(w http.ResponseWriter, r *http.Request) (auth.Identity, string, error) {
	var id auth.Identity
	pending, err := c.sessions.Open(r, loginCookie, loginPurpose)
	if err != nil {
		return id, "", fmt.Errorf("%w: no sign-in in progress (or it expired): %v", ErrLogin, err)
	}
	c.sessions.Clear(w, loginCookie) // one use only
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		return id, "", fmt.Errorf("%w: the provider answered %s: %s", ErrLogin, e, q.Get("error_description"))
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(pending["state"])) != 1 {
		return id, "", fmt.Errorf("%w: state does not match the sign-in in progress", ErrLogin)
	}
	p, ctx, err := c.discover(r.Context())
	if err != nil {
		return id, "", err
	}
	tok, err := c.oauth2Config(p).Exchange(ctx, q.Get("code"), oauth2.VerifierOption(pending["verifier"]))
	if err != nil {
		return id, "", fmt.Errorf("%w: exchanging the code: %v", ErrLogin, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return id, "", fmt.Errorf("%w: the token response has no id_token", ErrLogin)
	}
	idt, err := p.Verifier(&gooidc.Config{ClientID: c.cfg.ClientID}).Verify(ctx, raw)
	if err != nil {
		return id, "", fmt.Errorf("%w: %v", ErrLogin, err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(pending["nonce"])) != 1 {
		return id, "", fmt.Errorf("%w: the ID token's nonce does not match", ErrLogin)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return id, "", fmt.Errorf("%w: %v", ErrLogin, err)
	}
	if err := c.addUserInfo(ctx, p, tok, idt.Subject, claims); err != nil {
		return id, "", err
	}
	id, err = c.identity(idt.Subject, claims)
	return id, pending["redirect"], err
}

// addUserInfo completes claims from the provider's userinfo endpoint when
// the ID token lacks one that is used: many providers put profile, e-mail
// and group claims there only, when they also issue an access token.
func (c *Client) addUserInfo(ctx context.Context, p *gooidc.Provider, tok *oauth2.Token, subject string, claims map[string]any) error {
	used := []string{c.cfg.UsernameClaim, "email", "name"}
	if c.cfg.GroupsClaim != "" {
		used = append(used, c.cfg.GroupsClaim)
	}
	if !slices.ContainsFunc(used, func(k string) bool { _, ok := claims[k]; return !ok }) || p.UserInfoEndpoint() == "" {
		return nil
	}
	info, err := p.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		return fmt.Errorf("%w: userinfo: %v", ErrLogin, err)
	}
	if info.Subject != subject {
		return fmt.Errorf("%w: userinfo is about subject %q, the ID token about %q", ErrLogin, info.Subject, subject)
	}
	var more map[string]any
	if err := info.Claims(&more); err != nil {
		return fmt.Errorf("%w: userinfo: %v", ErrLogin, err)
	}
	for k, v := range more {
		if _, ok := claims[k]; !ok {
			claims[k] = v
		}
	}
	return nil
}

// identity reads the configured claims.
func (c *Client) identity(subject string, claims map[string]any) (auth.Identity, error) {
	str := func(name string) string { s, _ := claims[name].(string); return s }
	id := auth.Identity{Subject: subject, Username: str(c.cfg.UsernameClaim), Email: str("email"), FullName: strings.TrimSpace(str("name"))}
	if id.Username == "" {
		return id, fmt.Errorf("%w: the ID token has no %q claim (set usernameClaim)", ErrLogin, c.cfg.UsernameClaim)
	}
	if c.cfg.GroupsClaim != "" {
		switch g := claims[c.cfg.GroupsClaim].(type) {
		case string:
			id.Groups = []string{g}
		case []any:
			for _, v := range g {
				if s, ok := v.(string); ok {
					id.Groups = append(id.Groups, s)
				}
			}
		}
	}
	if c.cfg.AdminGroup != "" {
		admin := slices.Contains(id.Groups, c.cfg.AdminGroup)
		id.Admin = &admin
	}
	return id, nil
}
