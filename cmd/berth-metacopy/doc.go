// Command berth-metacopy copies a Berth metadata store from one backend
// to another, then compares the two listing by listing: a single-node
// registry on bbolt moves to PostgreSQL (and back) without re-pushing
// anything, as blobs stay in the storage driver.
//
//	berth-metacopy -from bolt:./data/meta.db -to postgres:'postgres://berth@db:5432/berth'
//	berth-metacopy -compare-only -from bolt:./data/meta.db -to postgres:'postgres://berth@db:5432/berth'
//
// A store is named backend:where, bolt:PATH or postgres:DSN (a
// postgres:// URL or libpq's key=value form; PostgreSQL's schema is
// created or brought up to date as the server does at start). The
// destination must be empty: a fresh database, or a bbolt file that does
// not exist yet. -compare-only copies nothing; its stores must exist.
//
// Stop the registry (every instance) before copying: what the source
// commits during the copy is not in the copy, and the comparison after it
// would report it. Opening a bbolt file takes its lock, so a registry still
// running on it is found (after -lock-timeout) instead of copied from
// under it.
//
// The exit status is 0 when the destination holds everything the source
// does, 1 when the copy failed or the comparison found differences (they
// are listed, up to -max-differences), 2 for bad flags.
package main
