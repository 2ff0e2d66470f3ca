// Package metacopy moves a Berth metadata store from one backend to
// another: a single-node registry on bbolt grows into a cluster on
// PostgreSQL (and back) without re-pushing anything, since blobs stay in
// the storage driver and everything else is metadata.
//
//	counts, err := metacopy.Copy(ctx, pgStore, boltStore)
//	diffs, err := metacopy.Compare(ctx, boltStore, pgStore) // none: the copy is whole
//
// Copy copies every record a store keeps (see Copy), exactly: creation
// and push times, event sequence numbers, job ids, states, attempts and
// leases, tombstones and claims with their times, and the counters, so the
// destination goes on numbering above everything copied and a consumer
// resumes from its copied cursor without missing or repeating an event.
// Compare then checks the copy listing by listing, independently of how
// it was made. cmd/berth-metacopy is the command around both.
//
// Both rely on meta.Porter, the optional interface a backend's
// transactions implement to show what the registry's views do not (every
// repository's blob links, record kinds, counters) and to write records
// as read; meta/bolt and meta/postgres implement it, and
// meta/metatest.RunPorter checks an implementation.
//
// # Consistency
//
// Copy reads the source in one View, so what it copies is one consistent
// snapshot; it writes the destination in batches (WithBatchSize), so a
// large store makes no giant transaction and the destination's log and
// locks stay small. Writes to the source during the copy are not in the
// copy: stop the registry (every instance) first, then copy, compare and
// start it on the new store. A copy that fails half-way leaves a partial
// destination, which Copy refuses next time (ErrNotEmpty): drop it (a
// fresh database, or delete the file) and copy again.
package metacopy
