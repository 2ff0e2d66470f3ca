// Package jobs runs background work from the job queue that the metadata
// store keeps (meta.Jobs): garbage collection, replication, scans and
// webhook deliveries are jobs.
//
// Queue enqueues and inspects jobs (list, cancel, retry a dead letter).
// Runner leases due jobs of the kinds it has handlers for, runs them with
// a heartbeat that keeps the lease, retries failures with exponential
// backoff up to a kind's maximum of attempts and then leaves the job dead
// (a dead letter, visible and retryable), caps how many jobs of a kind run
// at once across every runner sharing the store, and fires cron schedules
// (robfig/cron syntax with seconds). A lease that is not renewed, because
// its process died, expires and another runner takes the job over, so
// every job runs at least once; handlers must be idempotent.
//
// # Several instances
//
// Everything is in the store's transactions, so several processes sharing
// one store (a database server) share one queue, with these guarantees:
//
//   - A job is leased by one runner at a time: Lease runs in a
//     serializable transaction. The lease lasts WithLease (default 30 s)
//     and a heartbeat renews it every third of that while the handler
//     runs; a handler whose job was canceled, or whose lease passed to
//     another runner, sees its context canceled at the next heartbeat.
//   - A job whose runner dies mid-attempt runs again once its lease
//     expires, on any runner, as its next attempt: jobs run at least
//     once, and handlers must be idempotent. The runner that died cannot
//     record anything for the job when it comes back (its outcome is
//     fenced by worker and attempt). An attempt that ends without an
//     outcome counts: a job whose last attempt died this way is dead, so
//     a job that kills its runner does not run for ever.
//   - A runner that cannot renew a lease (the store unreachable) stops
//     the attempt once the lease has less than a heartbeat's time left,
//     before another runner can take the job over. With that, a kind's
//     Limit holds across every runner sharing the store, as long as the
//     instances' clocks agree to well within a third of the lease (a
//     lease's expiry is judged by the clock of the runner that looks).
//   - A cron fire is enqueued under a key naming the schedule and its
//     nominal fire time ("cron:NAME@TIME"), which only one instance can
//     insert (meta.ErrDuplicate for the others), so each tick fires once
//     across the cluster however the instances' clocks disagree, as long
//     as one instance holding the schedule is up at the tick; ticks when
//     none is are not caught up. A fire that falls in an outage of the
//     store (its enqueue fails) is kept by every instance and tried
//     again with backoff (WithScheduleRetry) until one instance enqueues
//     it (the others then meet meta.ErrDuplicate and stop) or the
//     schedule's next fire comes due, which drops it: a schedule has at
//     most one fire outstanding, and an outage that spans several ticks
//     delivers only the last of them. The job of a fire is kept, and so
//     its key, for WithKeepFinished (default 7 days).
//   - An outage of the store (errors wrapping meta.ErrUnavailable) is
//     not the jobs' fault. Workers keep polling and log the outage once
//     and its end once (at Warn), not each look. An attempt that fails
//     because a backend cannot be reached (an error wrapping
//     meta.ErrUnavailable or storage.ErrUnavailable), or that stopped
//     because the store went away and its lease could not be renewed, is
//     given back: the job is pending again with backoff and its Attempts
//     unchanged, up to KindOptions.OutageRetries in a row (default 20),
//     so that a flapping database does not use up a job's MaxAttempts; a
//     job still makes at most MaxAttempts × (OutageRetries + 1) attempts
//     in all. The runner keeps trying to record an outcome while the
//     store is down, for up to five minutes; an outcome it could not
//     record leaves the job to another runner once the lease expires,
//     and that attempt counts.
//   - Idle runners do not write: they look for due jobs (Jobs.Due) and
//     for finished jobs to prune in read-only transactions, and write
//     only to lease, renew, record an outcome, enqueue a fire or prune.
//
// Schedules are held in each runner's memory: every instance must
// schedule the same ones (from the configuration and the stored
// schedules). A schedule set or removed through one instance reaches the
// others' runners when they apply the stored schedules again
// (Schedules.ApplyStored, only reading), which a server does when
// SchedulesGeneration moves (Set bumps it; package generation), within
// its metadata.refresh: until then an instance may fire the old
// schedule. Scheduling an
// unchanged schedule again keeps its next fire.
//
// Schedules keeps the schedules of named system jobs (garbage collection,
// scanning everything: see gc.ScheduledJob) in the settings and applies
// them to a Scheduler (a Runner): set one, read it back with its next
// fire, run its job once by hand, and apply every stored one at start.
// The admin API and a host's Go code share its checks.
package jobs
