package fillcache

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/berthreg/berth/generation"
)

// Cache maps keys to values read from a store. Make one with New; it is
// safe for concurrent use.
type Cache[K comparable, V any] struct {
	max   int
	mu    sync.RWMutex
	epoch uint64
	m     map[K]V
}

// New returns an empty cache holding at most size values (at least one).
func New[K comparable, V any](size int) *Cache[K, V] {
	return &Cache[K, V]{max: max(size, 1), m: make(map[K]V)}
}

// Get returns the value kept for k, if any.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	v, ok := c.m[k]
	return v, ok
}

// Epoch returns the current epoch, to be taken before reading the value
// that will be offered to Put.
func (c *Cache[K, V]) Epoch() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.epoch
}

// Put keeps v for k when no Reset has run since epoch was taken, and
// reports whether it did.
func (c *Cache[K, V]) Put(epoch uint64, k K, v V) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if epoch != c.epoch {
		return false
	}
	if _, ok := c.m[k]; !ok && len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[k] = v
	return true
}

// Reset empties the cache and starts a new epoch: values read before the
// call are not kept.
func (c *Cache[K, V]) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	clear(c.m)
}

// Len returns the number of values kept.
func (c *Cache[K, V]) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

// ResetOn makes w empty c whenever one of the counters names moves, and
// set live at each poll that does (the first poll calls every watch), so
// that a reader that finds live set may serve c's values: they are no
// staler than w's bound (package generation). Until then a reader should
// read the store each time.
func ResetOn[K comparable, V any](c *Cache[K, V], live *atomic.Bool, w *generation.Watcher, names ...string) error {
	forget := func(context.Context) error {
		c.Reset()
		live.Store(true)
		return nil
	}
	for _, name := range names {
		if err := w.Watch(name, forget); err != nil {
			return err
		}
	}
	return nil
}

// Through returns k's value from c when live is set (see ResetOn) and c
// holds it; otherwise it reads it with read and, when live was set,
// keeps it under the epoch taken before the read.
func Through[K comparable, V any](c *Cache[K, V], live *atomic.Bool, k K, read func() (V, error)) (V, error) {
	caching := live.Load()
	var epoch uint64
	if caching {
		if v, ok := c.Get(k); ok {
			return v, nil
		}
		epoch = c.Epoch()
	}
	v, err := read()
	if err == nil && caching {
		c.Put(epoch, k, v)
	}
	return v, err
}
