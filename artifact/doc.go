// Package artifact is the registry's content as people and tools browse
// it, the way Harbor's API v2.0 shows it: repositories (with their
// artifact and pull counts and a description), artifacts (a
// repository's manifests that stand alone: an index's children are its
// references, signatures, SBOMs and attestations its accessories), their
// tags, and the operations on them (delete, copy, add and remove tags,
// delete a repository with everything in it).
//
// # Paging in the store
//
// Listings are paged by the metadata store, not after reading a whole
// repository: a repository's artifacts come from the store's push-order
// index (meta.Manifests.Artifacts) and its counts from the store's
// counters (meta.Repositories.Stats, Count), so a page of a repository of
// 100 000 artifacts costs what a page of a small one does, plus its
// offset. Filters the index cannot answer (a tag substring, tagged or
// untagged, a media type, a label) read the candidates' keys — the tags,
// or the label's artifacts — not every manifest, except the media type
// filter, which reads the repository's artifacts once. Repositories are
// listed in name order from the store; other orders (creation, update
// time, pull count) and a name substring read the names of the
// project's repositories (not their content).
//
// # Who may do what
//
// The rules are here, for Go callers and the API alike: a repository is
// seen by whoever may pull from it (the project's members, any caller
// of a public project, system administrators, robots and grants only
// within their patterns) and a private one is, to anybody else, a
// repository that does not exist; deleting needs the delete right
// (maintainers and up), tagging and copying the push right on the target
// and the pull right on the source. Writes go through the registry
// itself (WithRegistry, an in-process transport), as the caller, so the
// registry's own checks, policies (immutability, quotas), events and
// webhooks apply to them exactly as to a client's request; a repository
// is deleted in one metadata transaction through the store New was given
// (the policy-enforcing store) with one DELETE_REPOSITORY event.
package artifact
