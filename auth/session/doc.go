// Package session keeps browser sign-ins in cookies. A Sessions value
// seals small string maps into HttpOnly cookies as HS256 JWTs whose
// audience names their purpose, so one kind of cookie (a login in
// progress, SameSite=Lax so it survives the provider's redirect back) can
// never pass for another (a signed-in session, SameSite=Strict). Start,
// Current and End are the signed-in session built on Seal and Open.
//
// The cookie names the account, the source that signed it in and a
// session id; the package keeps no state. The caller checks them against
// the account on every request (accounts.Manager.SessionPrincipal), which
// lists its live sessions: signing out, a password change, disabling and
// deleting the account end them at once, copied cookies included.
//
// The key is the only thing instances behind one address must share for
// a cookie one sealed to be opened by another (package server keeps a
// generated one in the metadata store, or reads auth.sessionKey).
package session
