// Package api is the admin REST API, shaped like Harbor's API v2.0 for the
// resources it covers: paths under /api/v2.0, Harbor's JSON field names,
// page and page_size with X-Total-Count and Link headers, and errors as
// {"errors":[{"code","message"}]}. Clients authenticate with HTTP basic
// credentials (users and robots, as with Harbor's API); some reads are
// open to anonymous clients where Harbor's are (public projects).
//
// It covers projects and their members, users, and robot accounts (with
// two extensions: an access's "pattern" limits it to matching repositories,
// and "expires_at" sets an exact expiry). Berth addresses projects, users
// and robots by name where Harbor uses numeric ids. The OpenAPI document is
// served at Prefix+"/openapi.json"; the OIDC login flow is still to come.
package api
