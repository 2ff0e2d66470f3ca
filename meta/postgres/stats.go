package postgres

import "sync/atomic"

// Stats are a Store's transaction counters since Open: what a host
// exports as metrics, and what tests assert to show that independent
// writes do not conflict.
type Stats struct {
	// Views and Updates count the transactions run (an Update once,
	// however often it was retried).
	Views, Updates uint64
	// Retries counts Update attempts run again after a serialization
	// failure or a deadlock.
	Retries uint64
	// Exhausted counts Updates that gave up retrying and returned
	// meta.ErrUnavailable.
	Exhausted uint64
	// ReadCache reports whether the store has a read cache
	// (WithReadCache); CachedReads counts the Tags.Get it answered.
	ReadCache   bool
	CachedReads uint64
}

// counters are the atomic fields behind Stats.
type counters struct {
	views, updates, retries, exhausted, cachedReads atomic.Uint64
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	return Stats{
		Views:       s.stats.views.Load(),
		Updates:     s.stats.updates.Load(),
		Retries:     s.stats.retries.Load(),
		Exhausted:   s.stats.exhausted.Load(),
		ReadCache:   s.cache != nil,
		CachedReads: s.stats.cachedReads.Load(),
	}
}
