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
//
// The Manager is the read side too, with the rules of who sees what:
// GetProject and ListProjects show a principal the projects it may see
// (public ones, its own, and those a robot may read), GetUser and
// ListUsers are for administrators and the account itself, GetRobot and
// ListRobots show the robots a principal may read; a hidden record is
// meta.ErrNotFound like a missing one, and no hash or session is ever
// returned. A host's Go code and the admin API get the same answers.
//
// # Several instances
//
// Accounts, secrets, sessions and projects are read from the store on
// every call (a cached credential is checked against the stored account
// on every use), so a password changed, an account disabled or deleted,
// a robot deleted through one instance is refused by every other at its
// next request. Only the policy is held in memory: every change of it
// bumps PolicyGeneration (package generation) in its own transaction,
// and WithWatcher reloads it, whole and at once (Reload), when that
// counter moves: within the watcher's interval plus the reload's time.
package accounts
