package auth

import (
	"context"
	"errors"
)

// Kind says what sort of account a Principal is.
type Kind string

// The kinds of principal.
const (
	// Anonymous is a request without credentials.
	Anonymous Kind = "anonymous"
	// User is a person's account (local, LDAP or OIDC).
	User Kind = "user"
	// Robot is a robot account ("robot$<project>+<name>" or a system robot).
	Robot Kind = "robot"
)

// Principal is whoever a request acts for.
type Principal struct {
	// Name is the account name ("" for Anonymous).
	Name string
	// Kind is the sort of account.
	Kind Kind
	// Admin marks a system administrator, allowed everything.
	Admin bool
	// Groups are the groups the account belongs to (from LDAP or OIDC),
	// which project memberships may name.
	Groups []string
	// Source is where a user account is kept and checked: "local",
	// "ldap" or "oidc" (accounts.User.Source); "" for robots and anonymous,
	// and for principals of authenticators that do not say.
	Source string
}

// AnonymousPrincipal is the principal of a request without credentials.
var AnonymousPrincipal = Principal{Kind: Anonymous}

// ErrBadCredentials is what an Authenticator returns for an unknown account,
// a wrong secret, or a disabled or expired one: callers must not tell these
// apart in what they answer.
var ErrBadCredentials = errors.New("auth: bad credentials")

// Authenticator checks a name and a secret (a password, a robot secret, an
// OIDC CLI secret) and returns the principal they belong to, or an error
// wrapping ErrBadCredentials. Any other error means the credentials could
// not be checked: one wrapping meta.ErrUnavailable (or
// storage.ErrUnavailable) for a backend that cannot be reached is
// answered 503 with a Retry-After, never as bad credentials.
type Authenticator interface {
	Authenticate(ctx context.Context, name, secret string) (Principal, error)
}

// Authorizer decides which of the requested actions on one resource a
// principal may perform. It returns the allowed subset of actions, in the
// order asked.
type Authorizer interface {
	Allowed(ctx context.Context, p Principal, resource Resource, actions []string) ([]string, error)
}

// Resource is what an access is about: a repository by its full name, or
// the registry catalog.
type Resource struct {
	// Type is "repository" or "registry".
	Type string
	// Name is the repository name, or "catalog" for the registry.
	Name string
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(ctx context.Context, name, secret string) (Principal, error)

// Authenticate implements Authenticator.
func (f AuthenticatorFunc) Authenticate(ctx context.Context, name, secret string) (Principal, error) {
	return f(ctx, name, secret)
}

// FirstOf returns an Authenticator that asks each of list in turn and
// returns the first success; an authenticator answering ErrBadCredentials
// passes to the next, any other error stops the search. Use it only for
// authenticators whose account names cannot overlap: behind local
// accounts, a directory would sign in a local name with the directory's
// password (accounts.WithDirectory keeps each account to its source).
func FirstOf(list ...Authenticator) Authenticator {
	return AuthenticatorFunc(func(ctx context.Context, name, secret string) (Principal, error) {
		for _, a := range list {
			p, err := a.Authenticate(ctx, name, secret)
			if err == nil || !errors.Is(err, ErrBadCredentials) {
				return p, err
			}
		}
		return Principal{}, ErrBadCredentials
	})
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p, the principal a request acts as,
// for layers below the HTTP handlers (the accounts manager names it as the
// operator of the changes it records).
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal WithPrincipal put in ctx.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
