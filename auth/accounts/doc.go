// Package accounts keeps users, projects, members and robot accounts in the
// metadata store and the access policy in step with them. Manager is the
// write side (create a project, add a member, create a robot whose secret
// is shown once, rotate it, …): each change is one metadata transaction,
// then applied to the rbac.Authorizer so it takes effect at once. The
// Manager is also the auth.Authenticator of local users (bcrypt passwords)
// and robots (bcrypt secrets, expiry, disable), and the rbac.ProjectLookup.
package accounts
