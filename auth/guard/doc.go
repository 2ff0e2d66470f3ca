// Package guard plugs authentication and authorization into the registry
// handler: Guard.Authorize is a registry.Hooks.Authorize function that
// accepts bearer tokens from the token service (auth/token) and HTTP basic
// credentials checked directly, and answers what it refuses the way Docker
// clients expect: 401 with a Bearer challenge naming the scope to ask for,
// or 403 DENIED for an authenticated client that may not. An
// authenticator, authorizer or recheck failing because its store cannot
// be reached (an error wrapping meta.ErrUnavailable) is returned as it
// is, which the registry answers 503 UNAVAILABLE with a Retry-After: the
// client's credentials were not found wrong, only not checked.
package guard
