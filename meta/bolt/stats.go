package bolt

import "sync/atomic"

// Stats are a Store's group-commit counters since Open: what a host
// exports as metrics. Batched divided by Batches is the mean number of
// Updates sharing one transaction (and one fsync).
type Stats struct {
	// Batches counts the write transactions group commit ran for the
	// Updates queued together, a lone Update's included.
	Batches uint64
	// Batched counts the Updates those transactions carried.
	Batched uint64
	// Reruns counts Updates run again in a transaction of their own
	// because another Update of their batch failed and rolled the
	// shared transaction back.
	Reruns uint64
}

// counters are the atomic fields behind Stats.
type counters struct {
	batches, batched, reruns atomic.Uint64
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	return Stats{
		Batches: s.stats.batches.Load(),
		Batched: s.stats.batched.Load(),
		Reruns:  s.stats.reruns.Load(),
	}
}
