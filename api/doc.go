// Package api is the admin REST API, shaped like Harbor's API v2.0 for the
// resources it covers: paths under /api/v2.0, Harbor's JSON field names,
// page and page_size with X-Total-Count and Link headers, and errors as
// {"errors":[{"code","message"}]}. Clients authenticate with HTTP basic
// credentials (users and robots, as with Harbor's API); some reads are
// open to anonymous clients where Harbor's are (public projects).
//
// This first part covers projects and their members; users, robots and
// login follow.
package api
