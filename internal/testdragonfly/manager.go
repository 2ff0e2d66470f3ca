package testdragonfly

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"
)

// The manager's console API (manager/router/router.go of
// d7y.io/dragonfly/v2 v2.3.0), which the test uses to set the cluster up:
// sign in as the root user the manager seeds (manager/permission/rbac/
// rbac.go: "root", password "dragonfly"), read the schedulers and seed
// peers that registered, and make the personal access token the open
// API (/oapi/v1) requires.
const (
	rootUser     = "root"
	rootPassword = "dragonfly"
)

// console is a client of the manager's console API.
type console struct {
	base   string // http://host:port
	client *http.Client
	jwt    string
}

// call sends a JSON request and decodes a 200 answer into out.
func (c *console) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.jwt != "" {
		req.Header.Set("Authorization", "Bearer "+c.jwt)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, bytes.TrimSpace(b))
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}

// healthy: GET /healthy answers 200.
func (c *console) healthy(ctx context.Context) bool {
	return c.call(ctx, http.MethodGet, "/healthy", nil, nil) == nil
}

// signIn signs in as root and keeps the JWT for the calls after.
func (c *console) signIn(ctx context.Context) error {
	var out struct {
		Token string `json:"token"`
	}
	err := c.call(ctx, http.MethodPost, "/api/v1/users/signin",
		map[string]string{"name": rootUser, "password": rootPassword}, &out)
	if err != nil {
		return err
	}
	if out.Token == "" {
		return fmt.Errorf("sign in: no token in the answer")
	}
	c.jwt = out.Token
	return nil
}

// personalAccessToken makes a token of root's with the job scope, the
// one /oapi/v1/jobs asks for (manager/middlewares/personal_access_token.go).
func (c *console) personalAccessToken(ctx context.Context) (string, error) {
	var out struct {
		Token string `json:"token"`
		State string `json:"state"`
	}
	err := c.call(ctx, http.MethodPost, "/api/v1/personal-access-tokens", map[string]any{
		"name":       "berth-test",
		"bio":        "internal/testdragonfly",
		"scopes":     []string{"job"},
		"expired_at": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339),
		"user_id":    1, // root, the first user
	}, &out)
	if err != nil {
		return "", err
	}
	if out.Token == "" || out.State != "active" {
		return "", fmt.Errorf("personal access token: got token %q in state %q", out.Token, out.State)
	}
	return out.Token, nil
}

// schedulerReady: the scheduler registered, is active, and can preheat.
func (c *console) schedulerReady(ctx context.Context) bool {
	var out []struct {
		HostName string   `json:"host_name"`
		State    string   `json:"state"`
		Features []string `json:"features"`
	}
	if c.call(ctx, http.MethodGet, "/api/v1/schedulers", nil, &out) != nil {
		return false
	}
	for _, s := range out {
		if s.HostName == schedulerName && s.State == "active" && slices.Contains(s.Features, "preheat") {
			return true
		}
	}
	return false
}

// seedPeerReady: the seed peer registered and is active.
func (c *console) seedPeerReady(ctx context.Context) bool {
	var out []struct {
		HostName string `json:"host_name"`
		State    string `json:"state"`
	}
	if c.call(ctx, http.MethodGet, "/api/v1/seed-peers", nil, &out) != nil {
		return false
	}
	for _, s := range out {
		if s.HostName == seedPeerName && s.State == "active" {
			return true
		}
	}
	return false
}
