package meta

import "context"

// cachedReadsKey marks a context whose Views accept cached reads.
type cachedReadsKey struct{}

// AllowCachedReads returns a context under which a store that keeps a
// read cache may answer a View's Tags.Get (and the Manifests.Get of the
// manifest it names) from it: a committed state at most the store's
// documented bound old, and never older than the store's own writes
// that had returned when the View began. Only a View that reads nothing
// else should ask: its other reads come from the database's snapshot,
// which may be newer. Stores without a cache ignore it. A registry
// resolving a tag for a pull is such a View.
func AllowCachedReads(ctx context.Context) context.Context {
	return context.WithValue(ctx, cachedReadsKey{}, true)
}

// CachedReadsAllowed reports whether ctx was made by AllowCachedReads.
func CachedReadsAllowed(ctx context.Context) bool {
	ok, _ := ctx.Value(cachedReadsKey{}).(bool)
	return ok
}
