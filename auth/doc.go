// Package auth holds the pieces of authentication and authorization that
// every part of Berth's access control shares: principals, the small
// Authenticator and Authorizer interfaces a host can replace, and the
// Docker token scope grammar ("repository:library/alpine:pull,push").
//
// Implementations live in sub-packages: auth/token issues and verifies the
// Docker registry bearer tokens (the /service/token flow), auth/rbac decides
// access with casbin over projects, roles and repository-pattern grants.
package auth
