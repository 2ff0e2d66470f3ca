package postgres

import (
	"sync"
	"time"
)

// Bounds of the read cache (see WithReadCache).
const (
	// readCacheBytes bounds the manifest records the cache holds.
	readCacheBytes = 32 << 20
	// readCacheMaxRecord is the largest record the cache keeps.
	readCacheMaxRecord = 64 << 10
	// readCacheRepos bounds the repositories whose last drop the cache
	// remembers (see readCache.changed).
	readCacheRepos = 100_000
	// readCacheLapses is how many intervals after the start of the last
	// successful poll the cache still answers: past that, the drops it
	// has not read may be older than the bound.
	readCacheLapses = 2
)

// readCache keeps what Views' Tags.Get read: a tag's digest with its
// manifest's record, until the repository is dropped. Two things drop a
// repository:
//
//   - a write of this store to its tags or manifests (or its deletion),
//     once the transaction has ended, so this instance reads its own
//     writes at once;
//   - a row of the drop log (table cache_drops, see dropLog), which any
//     store's write that changes what an existing tag resolves to
//     appends in its transaction, read by this store's poll once an
//     interval: another instance's change is seen within the interval.
//
// The cache answers only while the last successful poll started less
// than readCacheLapses intervals ago, so a poll that fails or is late
// cannot stretch the bound: the Views read the database meanwhile.
//
// A View's read may predate a drop that happens while the read is on its
// way: such a read must not fill the cache after the drop. Every View
// takes a ticket (the counter's value) before its first statement, every
// drop counts, and a fill is kept only when the repository has not been
// dropped since the ticket.
type readCache struct {
	interval time.Duration
	now      func() time.Time

	mu      sync.Mutex
	counter uint64
	// changed holds, per repository, the counter at its last drop; floor
	// is the counter at the last time changed was emptied (to bound it):
	// tickets older than that are refused for every repository.
	changed map[string]uint64
	floor   uint64
	repos   map[string]map[string]cachedTag
	bytes   int64
	// polled is when the last successful poll of the drop log started
	// (zero before the first).
	polled time.Time
}

// cachedTag is a cache entry: the digest the tag pointed at and the
// manifest's record.
type cachedTag struct {
	digest string
	record []byte
}

func newReadCache(interval time.Duration, now func() time.Time) *readCache {
	if interval <= 0 {
		return nil
	}
	return &readCache{interval: interval, now: now, changed: map[string]uint64{}, repos: map[string]map[string]cachedTag{}}
}

// ticket returns the value a View takes before its first statement.
func (c *readCache) ticket() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counter
}

// current reports whether the drop log was read recently enough for the
// cache to answer; c.mu is held.
func (c *readCache) current() bool {
	return !c.polled.IsZero() && c.now().Sub(c.polled) < readCacheLapses*c.interval
}

// get returns the entry of repo's tag.
func (c *readCache) get(repo, tag string) (cachedTag, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.current() {
		return cachedTag{}, false
	}
	e, ok := c.repos[repo][tag]
	return e, ok
}

// put keeps what a View with ticket read, unless repo was dropped since
// the ticket was taken.
func (c *readCache) put(ticket uint64, repo, tag string, e cachedTag) {
	if len(e.record) > readCacheMaxRecord {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.current() || ticket < c.floor || c.changed[repo] > ticket {
		return
	}
	tags := c.repos[repo]
	if old, ok := tags[tag]; ok {
		c.bytes -= int64(len(old.record))
	} else if c.bytes+int64(len(e.record)) > readCacheBytes {
		clear(c.repos)
		c.bytes = 0
		tags = nil
	}
	if tags == nil {
		tags = map[string]cachedTag{}
		c.repos[repo] = tags
	}
	tags[tag] = e
	c.bytes += int64(len(e.record))
}

// drop forgets the entries of repos.
func (c *readCache) drop(repos map[string]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counter++
	if len(c.changed)+len(repos) > readCacheRepos {
		clear(c.changed)
		c.floor = c.counter
	}
	for r := range repos {
		c.changed[r] = c.counter
		for _, e := range c.repos[r] {
			c.bytes -= int64(len(e.record))
		}
		delete(c.repos, r)
	}
}

// dropAll forgets every entry, and refuses the fills of the Views under
// way.
func (c *readCache) dropAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counter++
	clear(c.changed)
	c.floor = c.counter
	clear(c.repos)
	c.bytes = 0
}

// polledAt records a successful poll of the drop log that started at
// start, after its drops were applied.
func (c *readCache) polledAt(start time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.polled = start
}

// lastPoll returns when the last successful poll started (zero before
// the first).
func (c *readCache) lastPoll() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.polled
}
