// Package accounts keeps users, projects, members and robot accounts in the
// metadata store and the access policy in step with them. Manager is the
// write side (create a project, add a member, create a robot whose secret
// is shown once, rotate it, …): each change is one metadata transaction,
// then applied to the rbac.Authorizer so it takes effect at once. The
// Manager is also the auth.Authenticator of local users (bcrypt passwords),
// OIDC users (CLI secrets) and robots (bcrypt secrets, expiry, disable),
// in front of an LDAP directory when there is one (WithDirectory: each
// account is checked by its own source only), with a short cache of
// verified credentials (WithCredentialCache); it keeps the browser
// sessions of user accounts (StartSession, SessionPrincipal, EndSession)
// and is the rbac.ProjectLookup.
package accounts
