package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// authorizer adds credentials to requests the way docker and containerd
// do: after a Bearer challenge it fetches one token per scope from the
// realm with basic credentials and caches it until shortly before it
// expires; after a Basic challenge it sends the credentials on every
// request.
type authorizer struct {
	user, pass string
	hc         *http.Client

	scheme         string // "basic" or "bearer", set by learn
	realm, service string

	mu     sync.Mutex
	tokens map[string]*tokenEntry
	// fetches counts token requests, for the record.
	fetches int64
}

// tokenEntry is the cached token of one scope; its mutex makes concurrent
// requests for a new scope wait for one fetch.
type tokenEntry struct {
	mu      sync.Mutex
	token   string
	refresh time.Time
}

func newAuthorizer(user, pass string, hc *http.Client) *authorizer {
	return &authorizer{user: user, pass: pass, hc: hc, tokens: map[string]*tokenEntry{}}
}

// learn reads the challenge of a 401 answer to GET /v2/.
func (a *authorizer) learn(h http.Header) error {
	ch := h.Get("WWW-Authenticate")
	scheme, params, _ := strings.Cut(ch, " ")
	switch {
	case strings.EqualFold(scheme, "Basic"):
		a.scheme = "basic"
		return nil
	case strings.EqualFold(scheme, "Bearer"):
		p := parseChallenge(params)
		if p["realm"] == "" {
			return fmt.Errorf("bearer challenge without realm: %q", ch)
		}
		a.scheme, a.realm, a.service = "bearer", p["realm"], p["service"]
		return nil
	}
	return fmt.Errorf("unsupported challenge %q", ch)
}

// parseChallenge splits `realm="x",service="y"` into its parameters.
func parseChallenge(s string) map[string]string {
	out := map[string]string{}
	for s != "" {
		s = strings.TrimLeft(s, " ,")
		k, rest, ok := strings.Cut(s, "=")
		if !ok {
			break
		}
		var v string
		if strings.HasPrefix(rest, `"`) {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				v, s = rest[1:], ""
			} else {
				v, s = rest[1:1+end], rest[2+end:]
			}
		} else {
			v, s, _ = strings.Cut(rest, ",")
		}
		out[strings.ToLower(strings.TrimSpace(k))] = v
	}
	return out
}

// scopes returns the token scopes a registry request needs: push and pull
// on its repository, pull on a mount's source, catalog for /v2/_catalog,
// none for the ping.
func scopes(u *url.URL) []string {
	p := strings.TrimPrefix(u.Path, "/v2/")
	if p == u.Path || p == "" {
		return nil
	}
	if p == "_catalog" {
		return []string{"registry:catalog:*"}
	}
	// The route's marker is the last one in the path: a repository may be
	// called "tags" or "blobs" itself.
	i := -1
	for _, mark := range []string{"/blobs/", "/manifests/", "/tags/"} {
		i = max(i, strings.LastIndex(p, mark))
	}
	if i <= 0 {
		return nil
	}
	out := []string{"repository:" + p[:i] + ":pull,push"}
	if from := u.Query().Get("from"); from != "" {
		out = append(out, "repository:"+from+":pull")
	}
	return out
}

// authorize sets req's Authorization header.
func (a *authorizer) authorize(req *http.Request) error {
	switch a.scheme {
	case "basic":
		req.SetBasicAuth(a.user, a.pass)
		return nil
	case "bearer":
		tok, err := a.token(req.Context(), scopes(req.URL))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return nil
}

// token returns a valid token for scopes, fetching one if needed.
func (a *authorizer) token(ctx context.Context, sc []string) (string, error) {
	key := strings.Join(sc, " ")
	a.mu.Lock()
	e, ok := a.tokens[key]
	if !ok {
		e = &tokenEntry{}
		a.tokens[key] = e
	}
	a.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.token != "" && time.Now().Before(e.refresh) {
		return e.token, nil
	}
	tok, life, err := a.fetch(ctx, sc)
	if err != nil {
		return "", err
	}
	e.token, e.refresh = tok, time.Now().Add(life*3/4)
	return tok, nil
}

// fetch asks the realm for a token.
func (a *authorizer) fetch(ctx context.Context, sc []string) (string, time.Duration, error) {
	u, err := url.Parse(a.realm)
	if err != nil {
		return "", 0, fmt.Errorf("bad realm %q: %w", a.realm, err)
	}
	q := u.Query()
	if a.service != "" {
		q.Set("service", a.service)
	}
	for _, s := range sc {
		q.Add("scope", s)
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", 0, err
	}
	req.SetBasicAuth(a.user, a.pass)
	resp, err := a.hc.Do(req)
	if err != nil {
		return "", 0, fmt.Errorf("token: %w", err)
	}
	defer drain(resp)
	a.mu.Lock()
	a.fetches++
	a.mu.Unlock()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return "", 0, fmt.Errorf("token for %q: status %d: %s", sc, resp.StatusCode, strings.TrimSpace(string(b)))
	}
	var t struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&t); err != nil {
		return "", 0, fmt.Errorf("token: %w", err)
	}
	tok := t.Token
	if tok == "" {
		tok = t.AccessToken
	}
	if tok == "" {
		return "", 0, errors.New("token: empty answer")
	}
	life := time.Duration(t.ExpiresIn) * time.Second
	if life <= 0 {
		life = time.Minute // the spec's default
	}
	return tok, life, nil
}
