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
// The log is also the audit log: ReadAudit pages it in the store, newest
// first, with Harbor's filter (ParseAuditFilter) and a bounded walk that
// hands back a cursor; Purge applies its retention. Who may read which
// project's part of it is accounts.Manager.AuditLog's rule, since it
// depends on projects and their members.
package events
