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
// Everything is in the store's transactions, so several processes sharing
// one store (a PostgreSQL backend, later) share one queue: a cron fire is
// enqueued under a key naming the schedule and the fire time, which only
// one of them can insert.
//
// Schedules keeps the schedules of named system jobs (garbage collection,
// scanning everything: see gc.ScheduledJob) in the settings and applies
// them to a Scheduler (a Runner): set one, read it back with its next
// fire, run its job once by hand, and apply every stored one at start.
// The admin API and a host's Go code share its checks.
package jobs
