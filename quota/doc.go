// Package quota keeps a storage limit per project and counts what each
// project holds, in the transaction of every change, without a row that
// every push of a project writes.
//
// # What counts
//
// A project's usage is the size of every manifest in its repositories and
// of every blob such a manifest references (config and layers), each
// digest once in the project however many repositories or manifests hold
// it, as Harbor counts. A blob counts at the size the registry stored,
// whatever size the manifest declares; layers clients fetch from
// elsewhere (non-distributable) count nothing. A blob uploaded but not
// yet referenced by a manifest does not count: the manifest push that
// references it does, and refuses what would exceed the limit; garbage
// collection removes blobs no manifest references.
//
// # How it is counted
//
// Service.Store wraps the metadata store: every Manifests.Put,
// Manifests.Delete and Repositories.Delete of its Update transactions is
// counted in that transaction, so a push is refused, or its bytes
// counted, atomically with its record, and a crash loses nothing.
// Everything that writes manifests (the registry, garbage collection,
// retention) must use that store; the server package passes it to all of
// them. The bookkeeping lives in the record space (kind "quota"):
//
//   - a mark per digest a project holds, with the size it counts for;
//   - a holder record per (digest, manifest) holding it, so a delete
//     knows whether another manifest of the project still holds it. A
//     push adds its marks and holders in one write that reports which
//     marks were new (meta.Records.PutNew) without reading the others,
//     so pushes whose digests are marked already read nothing another
//     push writes;
//   - the usage counter, in parts (shards, WithShards, default 16).
//
// The counter's parts carry an allotment: a push adds what it stores to
// one part, which a pool hands out so that concurrent transactions of
// one instance write different parts, and needs to read no other part as
// long as the part's allotment covers it. The allotments add up to at
// most the limit, so the parts' sum, the usage, never exceeds it. A push
// that finds its part short reads every part (a rebalance): it is refused
// if the total would exceed the limit, and otherwise deals what is left
// out again, an equal share to each part. Far from the limit pushes in a
// project touch disjoint rows; near it rebalances become frequent and
// the pushes serialize, which is what an exact limit needs. With
// PostgreSQL, whose writes are serializable, two rebalances or a
// rebalance and a push on the same part conflict and one is retried.
//
// Deletes give back what no other manifest of the project holds (the
// part's usage goes down; its allotment stays, so the part has more
// room). A refused push gets an *ExceededError (a 403 DENIED at the
// registry) naming the project, its limit and usage and what the push
// would add, and a QUOTA_EXCEED event is appended in a transaction of
// its own. A push that takes usage across the warning line (WithWarnAt,
// default 85 % of the limit) appends a QUOTA_WARNING event in its
// transaction: until usage crosses it, the allotments add up to the
// warning line rather than the limit, so the push that crosses it is the
// one that rebalances and knows.
//
// # Limits
//
// SetLimit sets a project's limit (Unlimited, -1, for none); a project
// without one has WithDefaultLimit's, whatever it is at the time;
// KeepDefault fixes it for a project (the admin API does so when it
// creates one without a storage_limit), so that a later change of the
// default leaves it be.
// Only a system administrator may set limits: SetLimit refuses a
// principal in ctx that is not one. Get reads a limit and usage.
//
// # Checking it
//
// Recompute derives a project's usage from its manifests and links, in
// one snapshot, and reports how the counter and its bookkeeping differ
// (and, asked to, fixes them); the job of kind JobKind runs it over
// every project (Service.Job). Writes that bypass Service.Store (a host
// writing the raw store, a copy between backends with metacopy) are
// what it finds.
package quota
