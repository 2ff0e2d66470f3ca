// Package immutable keeps per-project tag immutability rules and holds
// every writer of the metadata store to them.
//
// A rule (at most MaxRules per project, as in Harbor) selects
// repositories, by their name inside the project, and tags, each with a
// doublestar pattern that a name matches or (Excludes) must not match. A
// tag any enabled rule selects is immutable once it exists: it cannot be
// moved to another manifest, deleted, or deleted with its manifest.
// Creating it, and pushing it again onto the manifest it names, are
// fine. cosign's tag-named signatures, attestations and SBOMs
// ("sha256-<hex>.sig", ".att", ".sbom") are never immutable, so signing
// an image under an immutable tag works with cosign's legacy format as
// with its referrers; referrers are pushed by digest and were never
// concerned.
//
// The rules hold in the store Service.Store returns: it wraps the store
// New was given, and refuses the change in the transaction that would
// make it, with an *ImmutableError (a 412 DENIED at the registry, as
// Harbor answers). Everything that writes tags and manifests (the
// registry, the admin API, retention, replication into the project,
// garbage collection) uses that store, so none escapes the rules, and a
// tag created concurrently with a rule's check cannot slip through: the
// check reads the tag in the transaction that moves it.
//
// Rules are records of the kind "immutableRules", one per project,
// changed through Create, Update and Delete, which bump Generation. With
// WithWatcher a Service keeps each project's rules in memory and forgets
// them when the counter moves: another instance's change holds here
// within the watcher's bound (package generation), this instance's at
// once. Immutable answers for one tag, for retention and the API.
package immutable
