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
	// readCacheRepos bounds the repositories whose last local change the
	// cache remembers (see readCache.changed).
	readCacheRepos = 100_000
)

// readCache keeps what Views' Tags.Get read: a tag's digest with its
// manifest's record, for at most ttl. A write of this store to a
// repository's tags or manifests drops the repository's entries once its
// transaction has ended, so this instance reads its own writes; another
// instance's writes are seen within ttl.
//
// A View's read may predate a write that ends while the read is on its
// way: such a read must not fill the cache after the write dropped the
// repository. Every View takes a ticket (the counter's value) before its
// first statement, every drop counts, and a fill is kept only when the
// repository has not been dropped since the ticket.
type readCache struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	counter uint64
	// changed holds, per repository, the counter at its last drop; floor
	// is the counter at the last time changed was emptied (to bound it):
	// tickets older than that are refused for every repository.
	changed map[string]uint64
	floor   uint64
	repos   map[string]map[string]cachedTag
	bytes   int64
}

// cachedTag is a cache entry: the digest the tag pointed at and the
// manifest's record, as read at at.
type cachedTag struct {
	digest string
	record []byte
	at     time.Time
}

func newReadCache(ttl time.Duration, now func() time.Time) *readCache {
	if ttl <= 0 {
		return nil
	}
	return &readCache{ttl: ttl, now: now, changed: map[string]uint64{}, repos: map[string]map[string]cachedTag{}}
}

// ticket returns the value a View takes before its first statement.
func (c *readCache) ticket() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counter
}

// get returns the entry of repo's tag, if it is younger than the ttl.
func (c *readCache) get(repo, tag string) (cachedTag, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.repos[repo][tag]
	if !ok || c.now().Sub(e.at) >= c.ttl {
		return cachedTag{}, false
	}
	return e, true
}

// put keeps what a View with ticket read, unless repo was dropped since
// the ticket was taken.
func (c *readCache) put(ticket uint64, repo, tag string, e cachedTag) {
	if len(e.record) > readCacheMaxRecord {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if ticket < c.floor || c.changed[repo] > ticket {
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

// drop forgets the entries of repos (a transaction of this store wrote
// their tags or manifests, and has ended).
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
