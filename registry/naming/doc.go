// Package naming holds the rules about repository names and tags that the
// registry and the packages built on it share: the project a repository
// belongs to, and the tags under which cosign (without the referrers API)
// stores what it attaches to a manifest.
//
// It depends on nothing but go-digest, so authorization, events, garbage
// collection, replication, scanning and webhooks can all apply the same
// rule.
package naming
