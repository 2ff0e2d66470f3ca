// Package oidctest runs a real OpenID Connect provider on 127.0.0.1 for
// tests: zitadel/oidc's certified OP package with the storage and login
// page of its example server, plus a "groups" scope and claim. Dex, the
// provider Harbor's tests use, cannot be built from the module proxy here,
// so this in-process provider stands in for it.
package oidctest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// GroupsScope asks for the groups claim, in the ID token and at userinfo.
const GroupsScope = "groups"

// User is a person the provider knows.
type User struct {
	// ID is the subject; Username the preferred_username claim.
	ID, Username, Password string
	// Email and Name are the email and name claims.
	Email, Name string
	// Groups is the groups claim.
	Groups []string
}

// Provider is a running provider. Its URL is the issuer.
type Provider struct {
	URL string
}

// users is the example storage's UserStore over our users.
type users map[string]User

func (u users) GetUserByID(id string) *storage.User {
	v, ok := u[id]
	if !ok {
		return nil
	}
	return &storage.User{ID: v.ID, Username: v.Username, Password: v.Password, FirstName: v.Name, Email: v.Email,
		EmailVerified: true, PreferredLanguage: language.English}
}

func (u users) GetUserByUsername(name string) *storage.User {
	for _, v := range u {
		if v.Username == name {
			return u.GetUserByID(v.ID)
		}
	}
	return nil
}

func (u users) ExampleClientID() string { return storage.ServiceUserID }

// groupStorage adds the groups claim to the example storage.
type groupStorage struct {
	*storage.Storage
	users users
}

func (s groupStorage) SetUserinfoFromRequest(ctx context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	if err := s.Storage.SetUserinfoFromRequest(ctx, info, req, scopes); err != nil {
		return err
	}
	if slices.Contains(scopes, GroupsScope) {
		info.AppendClaims("groups", s.users[req.GetSubject()].Groups)
	}
	return nil
}

func (s groupStorage) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, subject, origin string) error {
	if err := s.Storage.SetUserinfoFromToken(ctx, info, tokenID, subject, origin); err != nil {
		return err
	}
	info.AppendClaims("groups", s.users[subject].Groups)
	return nil
}

func (s groupStorage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil {
		return nil, err
	}
	return groupsClient{c}, nil
}

// groupsClient allows the groups scope.
type groupsClient struct{ op.Client }

func (c groupsClient) IsScopeAllowed(scope string) bool {
	return scope == GroupsScope || c.Client.IsScopeAllowed(scope)
}

// Start runs a provider until the test ends, with one web client (id,
// secret, allowed redirect URIs) and the given users.
func Start(t testing.TB, clientID, secret string, redirectURIs []string, people ...User) *Provider {
	t.Helper()
	us := users{}
	for _, p := range people {
		us[p.ID] = p
	}
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()
	st := groupStorage{storage.NewStorageWithClients(us, map[string]*storage.Client{
		clientID: storage.WebClient(clientID, secret, redirectURIs...),
	}), us}
	srv.Config.Handler = exampleop.SetupServer(issuer, st, nil, false)
	srv.Start()
	t.Cleanup(srv.Close)
	return &Provider{URL: issuer}
}

// SignIn plays a browser: client (with a cookie jar) opens start, a URL
// that redirects to the provider's login page, submits username and
// password there, and follows the redirects back. It returns the last
// response (its body unread) or the first error.
func (p *Provider) SignIn(client *http.Client, start, username, password string) (*http.Response, error) {
	page, err := client.Get(start)
	if err != nil {
		return nil, err
	}
	page.Body.Close()
	id := page.Request.URL.Query().Get("authRequestID")
	if !strings.HasPrefix(page.Request.URL.String(), p.URL) || id == "" {
		return page, nil // not at the login page: the caller looks at why
	}
	return client.PostForm(p.URL+"/login/username", url.Values{"id": {id}, "username": {username}, "password": {password}})
}
