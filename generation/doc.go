// Package generation keeps named change counters in the metadata store, so
// that every instance sharing the store learns, within a bound, that
// something it holds in memory changed: the authorizer's rules, the
// stored schedules, the replication policies, the pull gate's project
// settings.
//
// A writer calls Bump inside the transaction that makes the change, so
// the counter moves exactly when the change commits, on whatever instance
// made it. A Watcher reads every counter in one read-only transaction per
// interval (WithInterval, default DefaultInterval: one read a second per
// instance, whatever the number of counters or watches) and calls the
// functions registered with Watch for a counter that moved, and once for
// each at the start. A function that fails is called again at the next
// poll. Seen tells how far a counter's watches have caught up.
//
// # The bound
//
// A change committed on one instance is in the memory of every other
// running instance within the interval plus the time its reload takes
// (for the authorizer: reading the projects and robots), as long as the
// store answers: the next poll sees the counter move and reloads from a
// transaction that starts after that read, so it sees the change. A
// reload that fails (the store unreachable) is retried at every poll.
// Writers that do not bump (an older version of the program during a
// rolling upgrade, a host writing records itself) are covered by
// WithResync: each watch is also called when that long has passed since
// it last ran.
//
// The counters are records of the kind Kind, one per name, never deleted.
// A bump reads and rewrites its counter, so writers bumping the same name
// conflict with each other (a serializable store runs one of them again):
// bump on administrative changes, never on a request path that every
// push or pull takes.
package generation
