// Package oidc signs people in through an OpenID Connect provider with the
// authorization code flow (PKCE, state and nonce), using coreos/go-oidc
// for discovery and ID token verification and golang.org/x/oauth2 for the
// code exchange.
//
// Client.Begin sends the browser to the provider, keeping the login in
// progress in a sealed, short-lived cookie (see auth/session);
// Client.Complete checks the provider's answer and returns an
// auth.Identity: the subject, a username, e-mail, name and groups from
// configurable claims, and whether the person is in the admin group. The
// caller maps it to an account (accounts.Manager.SignInOIDC) and starts a
// session; the account's CLI secret is then its password for registry
// clients, which never talk to the provider.
package oidc
