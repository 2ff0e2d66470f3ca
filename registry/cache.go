package registry

import (
	"bytes"
	"sync"

	"github.com/opencontainers/go-digest"
)

// manifestCache keeps recently used manifest bytes in memory, keyed by
// digest. Content is immutable per digest, so entries never go stale; the
// cache only bounds memory, evicting arbitrary entries when full.
type manifestCache struct {
	mu       sync.RWMutex
	entries  map[digest.Digest][]byte
	bytes    int64
	maxBytes int64
}

func (c *manifestCache) get(d digest.Digest) ([]byte, bool) {
	c.mu.RLock()
	b, ok := c.entries[d]
	c.mu.RUnlock()
	return b, ok
}

func (c *manifestCache) put(d digest.Digest, b []byte) {
	if c.maxBytes <= 0 || int64(len(b)) > c.maxBytes/16 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = make(map[digest.Digest][]byte)
	}
	if _, ok := c.entries[d]; ok {
		return
	}
	for k, v := range c.entries {
		if c.bytes+int64(len(b)) <= c.maxBytes {
			break
		}
		delete(c.entries, k)
		c.bytes -= int64(len(v))
	}
	if cap(b)-len(b) > 512 {
		b = bytes.Clone(b) // do not pin a much larger read buffer
	}
	c.entries[d] = b
	c.bytes += int64(len(b))
}
