// Package ratelimit bounds how fast each client may send requests: token
// buckets (golang.org/x/time/rate) kept per key, a key being a client
// address or an authenticated principal, under rules per route class.
//
// A Limiter holds the rules and the buckets. Allow takes one token from
// the bucket of (rule, key) and, when it is empty, says how long until
// one is back (the answer's Retry-After). Buckets that have refilled are
// forgotten, and the number of buckets is bounded (WithMaxKeys): past
// it, a request whose key has no bucket yet is refused, so that a flood
// from many addresses costs bounded memory.
//
// The server applies the address rules to every request before it is
// authenticated, and the principal rules where the principal is known:
// the registry's Authorize hook (after the guard) and the admin API's
// principal resolution. Counting principals only after authentication
// keeps a stranger from spending someone else's budget.
package ratelimit
