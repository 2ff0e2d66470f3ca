// Package ldap is an auth.Authenticator for LDAP and Active Directory
// directories, on github.com/go-ldap/ldap: it binds with a search account,
// finds the user by a filter, binds as the user with the given password to
// check it, and reads the user's groups, which project memberships may
// name. Every failure a client could cause is auth.ErrBadCredentials;
// directory outages are other errors.
package ldap
