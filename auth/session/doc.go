// Package session keeps browser sign-ins in cookies. A Sessions value
// seals small string maps into HttpOnly cookies as HS256 JWTs whose
// audience names their purpose, so one kind of cookie (a login in
// progress, SameSite=Lax so it survives the provider's redirect back) can
// never pass for another (a signed-in session, SameSite=Strict). Start,
// Account and End are the signed-in session built on Seal and Open.
//
// Sessions are stateless: signing out clears the browser's cookie, and a
// disabled or deleted account is refused by the caller, which looks the
// account up on every request; a stolen cookie stays valid until it
// expires, so lifetimes should be short.
package session
