// Package events records what changes in a registry in the durable event
// log of the metadata store (meta.Events) and hands it to consumers.
//
// Recorder (NewRecorder) plugs into the registry handler's hooks: a
// manifest push, a manifest delete and a tag delete append their event
// inside the transaction that records the change, so a change is never
// committed without its event and an event never names a change that
// rolled back.
// Pulls are not changes and are hot: they are sampled (or off) and
// appended in batches off the request path.
//
// A Consumer (NewConsumer) reads the log from its own cursor, kept in
// the store: Func consumers (a host program's Go code) are called with a
// batch and the cursor moves after they return nil, so every event is seen
// at least once and, per repository, in order, across crashes; TxFunc
// consumers run inside the transaction that moves the cursor, so what they
// write there (jobs to enqueue) happens exactly once. Bell wakes consumers
// as soon as events are appended in this process; they also poll, for
// events other processes append.
//
// # Several instances
//
// Instances sharing one store run the same consumers under the same
// names, so under the same cursors:
//
//   - A TxFunc consumer handles each event exactly once across the
//     cluster: the store's transactions are serializable, so of two
//     instances handling the same batch one commits and the other,
//     retried, finds the cursor moved. Any instance handles the next
//     batch; none waits for another.
//   - A Func consumer takes a lease on its name (kept next to its cursor)
//     in the transaction that reads a batch, renews it every third of
//     WithLease (default 30 s) while the Func runs, and moves the cursor
//     and drops the lease in one transaction. Other instances do not
//     handle a batch while the lease is live, so each event is handled
//     once, in log order, one batch at a time across the cluster. If the
//     holder dies mid-batch, another instance takes the batch over once
//     the lease expires and handles it again: at least once across a
//     crash, never skipped. A holder that comes back, or that could not
//     renew in time (it stops its Func's context first), moves nothing
//     (ErrLeaseLost). A Func that fails keeps the lease, for its own
//     retry, until it expires. Lease expiry is judged by each instance's
//     clock: they must agree to well within a third of the lease.
//   - Idle consumers do not write: they look for new events, and at the
//     lease, in read-only transactions.
//   - While the store cannot be reached (errors wrapping
//     meta.ErrUnavailable), a consumer retries at most every
//     WithOutageRetry (default 5 s), and at once when the Bell rings (an
//     event committed here: the store is back); it logs the outage once
//     and its end once. A handler that fails for its own reasons backs
//     off up to a minute instead. A Func whose lease could not be renewed
//     because the store went away ends with ErrLeaseLost wrapping the
//     store's error, which counts as an outage.
//
// Sequence numbers increase but may have gaps (a backend may burn numbers
// in appends that roll back), so consumers move their cursor to the last
// event they handled, never to cursor+1, and rely on the log's listing
// (meta.Events.List) returning only a prefix to which no smaller number
// can be added later.
//
// The log is also the audit log: ReadAudit pages it in the store, newest
// first, with Harbor's filter (ParseAuditFilter) and a bounded walk that
// hands back a cursor; Purge applies its retention. Who may read which
// project's part of it is accounts.Manager.AuditLog's rule, since it
// depends on projects and their members.
package events
