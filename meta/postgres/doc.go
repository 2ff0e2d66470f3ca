// Package postgres is a meta.Store kept in a PostgreSQL database (13 or
// later; tested with 15), so that several registry instances can share
// their metadata. It passes meta/metatest like meta/bolt, the embedded
// store whose behaviour it follows.
//
//	s, err := postgres.Open(ctx, "postgres://berth@db.internal/berth", postgres.WithMaxConns(20))
//
// Open brings the schema up to date (see Migrations) and returns a store
// on a pgx connection pool. Give Berth a database of its own, or a schema
// of its own through the DSN's search_path. Connect to PostgreSQL itself
// or through a pooler in session mode: the migrations hold a session
// advisory lock, transactions use prepared statements (pgx's statement
// cache; a DSN may set pgx's default_query_exec_mode), and a View's
// transaction may outlive it on its connection (see Round trips). The
// store's connections run with enable_seqscan and jit off (unless the
// DSN sets them; see Serialization failures).
//
// # Schema
//
// repositories has one row per repository, with an id its manifests,
// tags and blob links refer to (deleting a repository cascades to them,
// and one created again under the name starts empty). manifests keeps
// each manifest's record as JSON by repository and digest, with its
// subject in a column and an index (repository, subject, digest) that is
// the referrers index. tags maps (repository, tag) to a digest, with an
// index by (repository, digest, tag) for Tags.Of; Manifests.Delete
// removes a manifest's tags with it (no foreign key: see Serialization
// failures). gc_claims keeps released claims, marked, until the next
// collection begins. blobs holds the
// registry-wide records, blob_links each repository's link with its own
// record. uploads holds upload sessions; events the event log; cursors
// its consumers' positions as JSON; jobs the job queue, one column per
// field, with partial indexes of the active jobs in due order and of the
// running ones by kind; records the record space by (kind, key). gc_state
// says whether a collection is active, and gc_touched, gc_claims and
// gc_tombstones are its three protocols' digests. manifests also keeps
// each manifest's push time and whether it is an accessory and an
// artifact, manifest_children the children each index lists, and
// repo_stats and repo_counts the counters (see Artifacts and counters).
//
// Every text column that is compared or ordered (names, tags, digests,
// ids, kinds, keys) is COLLATE "C", so listings are in byte order, as Go
// compares strings; every listing is an index range, so its cost grows
// with the page, not the table. Text columns hold valid UTF-8 without NUL
// bytes: a write of another string fails (before any statement, so the
// transaction goes on), a lookup of one finds nothing, and a listing
// after one (a client's paging marker can be anything) starts where byte
// order says. Times are kept in microseconds.
//
// # Transactions
//
// Update runs SERIALIZABLE READ WRITE: PostgreSQL fails one of two
// transactions whose outcome no serial order explains, and Update runs
// the failed one again (serialization failures, SQLSTATE 40001, and
// deadlocks, 40P01), after a jittered, doubling backoff (1 ms up to
// 100 ms), for up to WithRetryBudget from the first failure
// (DefaultRetryBudget, 5 s) or until its context is done. So the seam's
// invariants hold across instances as they hold in bbolt's single
// writer: a per-kind job limit, a job leased once, a tag pointing at an
// existing manifest. An Update that spends its budget returns the last
// failure wrapping meta.ErrUnavailable: the database is too busy with
// conflicting writes for now, which callers answer with 503 and a
// Retry-After, as they answer an outage. Store.Stats counts the
// retries.
//
// View runs REPEATABLE READ READ ONLY: one snapshot for all of fn's
// reads, taken without waiting and never failing to serialize, so fn runs
// once, as the seam promises. SERIALIZABLE READ ONLY DEFERRABLE would
// also exclude the rare read-only anomaly (a snapshot in which a write
// committed later is missing although one committed after it is
// visible), but every View would then wait for every serializable
// writer running at its start to finish: registry reads would queue
// behind pushes, and behind any long Update. The one protocol that such
// a snapshot could break, garbage collection's mark against concurrent
// pushes, is closed at its source instead (see Collection.Begin below).
//
// Each method of the views is one statement. A method's expected
// errors (meta.ErrNotFound, meta.ErrDuplicate, meta.ErrReadOnly, text a
// column cannot hold) are found without a failed statement (the
// statement checks and writes at once, ON CONFLICT and CTEs), so "a
// method that returns an error has changed nothing, and the transaction
// goes on". A statement that does fail (a serialization failure, a lost
// connection, a statement timeout) aborts the transaction in PostgreSQL:
// every later call in fn returns that error, and Update returns it (or
// fn's own error), or retries. One method fails its statement on
// purpose: Claims.ClaimUnlessTombstoned, whose seam contract allows its
// meta.ErrTombstoned to come from Update, so that the claim needs no
// round trip of its own.
//
// # Serialization failures
//
// Under SERIALIZABLE a transaction's reads take predicate locks, and a
// write into what a concurrent transaction read is a conflict; two
// transactions in conflict both ways fail one. An index lookup locks the
// index pages it reads (the leaf pages of a small table are few, so
// lookups and inserts of unrelated keys meet on them); a sequential scan
// locks the whole table. Independent pushes (chunked uploads, blob
// pushes, manifests under distinct tags of one repository) conflict with
// none of each other, as registry's TestIndependentPushesDoNotConflict
// checks: the connections run with enable_seqscan off, as every statement
// is an index lookup or range (a planner with statistics otherwise scans
// a table of a page or two), and with jit off, whose threshold the cost
// enable_seqscan adds to gc_state's one-row scan would pass; writes are
// upserts (INSERT … ON CONFLICT takes no predicate lock); Claims.Release
// marks a claim released rather than deleting it (a DELETE reads the
// index page other uploads insert their claims into; Collection.Begin
// deletes the released ones); tags have no foreign key to manifests
// (whose check read the page concurrent pushes insert their manifests
// into), and Tags.Put does not look up a manifest its transaction put;
// Blobs.Link and Repositories.Ensure learn what they need from their
// inserts' results; saving an upload session is a HOT update
// (fillfactor 50) that adds no index entry. Concurrent creations of
// repositories still meet on the catalog's pages, and may be retried.
//
// # Artifacts and counters
//
// Manifests.Artifacts is one range of the partial index manifests
// (repo_id, pushed_at, digest) WHERE artifact, walked in either
// direction with OFFSET and LIMIT, so a page costs its offset and limit
// in index entries; push times are kept in microseconds (cut, as Go's
// and bbolt's are, not rounded). Its total is the counter, or with a
// time bound count(*) over the same range. manifest_children holds a
// row (repository, child, parent) for each child an index lists,
// whether or not the child has been pushed; a manifest is an artifact
// when it is not an accessory and has no such row as child, which
// Manifests.Put finds with one primary-key lookup (the by-parent index
// leads with the parent, so that a child lookup can use nothing else:
// a range of it would lock the repository's every link). Put's
// statement adds the links of the children its record lists (hiding
// those that were artifacts) and, when it replaced a record, drops the
// links of the children no longer listed (showing those that exist,
// are no accessories and have no other parent); Manifests.Delete drops
// its children's links likewise. The upsert learns what it replaced
// from the row's replaced column, set by ON CONFLICT DO UPDATE, rather
// than by reading the row first; each statement about children is gated
// by a condition PostgreSQL evaluates before it scans (the record lists
// children, links were dropped), so a push of an image reads nothing of
// the manifests table and only its own digest's entry of
// manifest_children. A push of an index reads its children's rows: it
// may conflict with concurrent pushes into the same repository (and be
// retried), as an index push writes what their lookups read.
//
// The counters (manifests, artifacts and tags per repository; the
// repositories of each project and of all) are rows in shards, 16 per
// repository and per scope, summed on read (16 rows, an index range).
// Every statement that changes a count adds its change to a row of its
// transaction's shard, in the statement itself (INSERT … ON CONFLICT DO
// UPDATE, which reads no index; a HOT update, fillfactor 50). The shard
// is not a hash of the digest or tag: two concurrent pushes would then
// meet on one row once in 16 pushes (and the eight clients of
// registry's TestIndependentPushesDoNotConflict almost always), and
// fail to serialize. Each Store hands its Updates the shard least in use
// by its other transactions, taken before the transaction's first
// statement and given back after it ends, so that the transactions of
// one Store write different rows as long as no more than 16 run at once
// (TestCountersDoNotConflict), and no transaction updates a row that
// another committed after its snapshot. Each Store prefers the shards
// in a random order of its own, so that the Updates of several
// instances meet on a row seldom; when they do, one is retried. Rows of
// deltas inserted by every write (summed and compacted later) would not
// conflict at all, but would make every read's cost grow until a
// compaction, which itself would conflict with the writers.
//
// # Round trips
//
// What a statement needs before it on the wire goes with it, in one
// pipelined batch: BEGIN, writes deferred so far, and the COMMIT of a
// View. A View's transaction, read-only, is not committed when fn
// returns: its connection is parked with the transaction open, and the
// next transaction to take it ends it in its first round trip (the store
// ends it itself after WithParkLinger, 5 ms by default). A read-only
// transaction holds no xid, so it holds back no other transaction's
// snapshot, nor the event log's horizon; only vacuum's, that long. Writes
// that can fail only by the server's doing (Uploads.Put, Records.Put,
// claims, and Manifests.Put, Blobs.Link and Tags.Put once the
// transaction has seen the repository or put the manifest) are deferred
// to the next round trip, the COMMIT's at the latest, where their
// failure, if any, is returned. In a View, Tags.Get reads the tag's
// manifest with it, for Manifests.Get. So a View costs one round trip per
// statement, an Update its reads plus one: a registry's manifest GET by
// tag, blob HEAD or tag listing is one round trip, a blob pushed in one
// POST three, a manifest push three whatever its number of layers
// (Blobs.Unlinked checks them all in one statement, which also reads the
// repository's row, so that the Repositories.Ensure after it sends
// nothing; and a claim, Claims.ClaimUnlessTombstoned, is one statement
// sent with its COMMIT); registry's TestRoundTripsPerOperation counts
// them.
//
// # Read cache
//
// With WithReadCache(interval) (the example server's default, with
// metadata.refresh), a View whose context meta.AllowCachedReads made
// (the registry's tag resolution for a pull, which reads nothing else)
// has its Tags.Get answered from memory with what a View of this Store
// read before, with the manifest's record for Manifests.Get: a pull of a
// tag pulled before sends nothing, and takes no connection (a View
// acquires one with its first statement). Other Views read their
// snapshot: one that mixed cached and fresh reads could see two moments
// at once. Tags not found are not kept, so a tag pushed anywhere is found
// everywhere at once.
//
// Entries stay until their repository is dropped:
//
//   - An Update of this Store that writes a repository's tags or
//     manifests, or deletes it, drops the repository's entries when it
//     ends, committed or not, before it returns: a View begun after it
//     reads it.
//   - A write that changes what an existing tag resolves to (Tags.Put
//     moving a tag, Tags.Delete, Manifests.Delete of a tagged manifest,
//     Repositories.Delete), on any Store, appends the repository to the
//     drop log (table cache_drops) in the same statement, so only what
//     can make an entry stale costs a row; a push of a new tag appends
//     nothing. Every Store with a cache reads the log once an interval
//     and drops the repositories it names. The log has seq and horizon
//     as the event log has (below), and a poll moves its cursor only past
//     rows whose horizon every transaction has passed, so a row that
//     commits after a later one is still read.
//   - The cache answers only while its last successful poll started less
//     than two intervals ago; a poll that fails or is late leaves the
//     Views to the database. Another Store's change is so seen within
//     two intervals, the order of the bound the other caches of an
//     instance have (package generation). A Store that has not polled for
//     half an hour (the log keeps rows for an hour) forgets everything.
//
// A View's read is kept only if no drop of its repository happened after
// the View began (a ticket taken before its first statement), so a read
// from a snapshot older than a drop cannot outlive it in the cache.
//
// # The event log
//
// Sequence numbers come from a SEQUENCE, not a counter row every writer
// would lock: they are increasing and never reused, but a rolled-back
// append leaves a gap, and concurrent appends commit in any order. A
// consumer reading the log by position must still never pass a number
// that may yet commit. So each event row also records a horizon, and
// berth_event_append does, in this order: give the transaction its xid
// (pg_current_xact_id), take the number (nextval), take a fresh xid (from
// a sub-transaction rolled back at once) as the horizon. Any transaction
// that took a smaller number had its xid before this event's number, so
// its xid is below the horizon. The transaction's own snapshot cannot
// serve as the horizon: under SERIALIZABLE, pg_current_snapshot() is the
// snapshot of its first statement, older than its numbers (a test shows
// readers losing events with it).
//
// List(after, limit) reads the events after "after" in order and returns
// them up to the first gap that is not settled. A missing number below a
// present event e is settled when the reading transaction's snapshot xmin
// (pg_snapshot_xmin(pg_current_snapshot())) has reached e's horizon, or
// that of any later event read: every transaction that could hold the
// number has then ended, and had it committed, the snapshot would show
// its event; so it rolled back, or its event was purged. Purge leaves
// gaps at the start of the log that settle the same way. Last returns the
// highest number List reaches from the start: the highest event whose
// horizon the snapshot's xmin has reached (found walking the primary key
// down from the newest event), extended by the run of consecutive numbers
// after it. A consumer created "from now" at Last misses no event
// committed later.
//
// xids are the cluster's, not the database's: a transaction that holds
// an xid anywhere on the server keeps the snapshot xmin, and so every gap
// after its start, from settling until it ends. Long-running writers
// (or sessions idle in a transaction) delay event delivery past gaps;
// idle_in_transaction_session_timeout bounds the latter. Backward, the
// audit log's newest-first walk, shows every event of its snapshot
// without waiting for gaps.
//
// # Jobs and garbage collection
//
// Lease is one statement: it counts the unexpired leases of the capped
// kinds, picks the due job (earliest run_at, then id) of a kind under its
// limit with FOR UPDATE SKIP LOCKED, so that concurrent leasers pass over
// a job another is taking instead of queueing behind it, and marks it
// running. Two leasers that each counted the other's job as not running
// conflict under SERIALIZABLE, and one runs again; so the limits hold
// across instances, at the price of retries when many lease at once. Job
// ids come from a sequence; keys are unique (ErrDuplicate from ON
// CONFLICT DO NOTHING).
//
// Writes that reference digests (manifest and tag puts, blob links) touch
// them in the same statement when gc_state says a collection is active.
// A write whose snapshot predates a collection's Begin sees none, yet may
// commit after the Begin, unseen by the mark: so Begin also scans each
// table those writes write with a sample scan (TABLESAMPLE, of no pages),
// which takes a relation-wide serializable read lock whatever the
// planner's settings. Such a write and the Begin then conflict both ways,
// PostgreSQL fails the write, and Update runs it again, now touching.
//
// # Errors
//
// Errors of the server or the way to it wrap meta.ErrUnavailable, which
// callers answer with 503: a refused, reset or lost connection, a server
// shutting down, restarting or out of connections (SQLSTATE classes 08,
// 53, 57, 58), a statement or lock timeout, no pooled connection within
// WithAcquireTimeout. A COMMIT whose connection died has an unknown
// outcome; it is reported so and not retried. pgxpool replaces dead
// connections by itself: a transaction whose first statement finds its
// pooled connection dead (the server restarted since) starts again on a
// new one, unseen by fn, and once the server is back the same Store
// works again. A done context is returned as itself, not as
// unavailability.
//
// # Migrations
//
// The schema is the numbered files of migrations/, embedded in the
// package and applied at Open by golang-migrate (its pgx/v5 driver and
// iofs source), which records the version in MigrationsTable and holds a
// session advisory lock from creating that table to the last migration:
// several processes opening one database at once are safe, the first
// migrates and the others wait. Each file runs as one transaction. A
// migration that fails leaves the version marked dirty, and Open refuses
// the database until an operator checks it and forces the version with
// golang-migrate's CLI.
package postgres
