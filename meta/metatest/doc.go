// Package metatest is the conformance suite for meta.Store backends.
//
// A backend's tests call Run with a constructor for fresh, empty stores; the
// suite then checks the whole meta contract: transactions (commit, rollback,
// read-only views, snapshot reads, cancelled contexts), every method of every
// view including its ErrNotFound cases, cascades (deleting a repository or a
// manifest), the tenant isolation of blob links, byte-wise ordering and
// paging of every listing, and concurrent Updates from many goroutines.
// The counters (Repositories.Count and Stats) and the artifact listing
// (Manifests.Artifacts) are checked against what the records say after
// every kind of change, in fixed and in random sequences (the seed is
// logged), and a page of artifacts must cost about as much in a
// repository of 20,000 manifests (2,000 under -short) as in one of 100:
// the fastest of several timed runs of each, compared as a ratio.
//
// Times are compared with time.Time.Equal at microsecond precision, so SQL
// backends that store microseconds pass; "lexical order" means byte-wise order
// (a PostgreSQL backend needs COLLATE "C" on its name columns). Reads of
// the event log past a gap wait, up to a minute, for the backend to settle
// it (see meta.Events.List): on a shared server, transactions the suite
// does not know of may keep it open a while.
package metatest
