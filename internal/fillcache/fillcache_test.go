package fillcache_test

import (
	"testing"

	"github.com/berthreg/berth/internal/fillcache"
)

func TestPutAfterResetIsDropped(t *testing.T) {
	c := fillcache.New[string, int](10)
	before := c.Epoch()
	c.Reset() // a change committed while the read was running
	if c.Put(before, "a", 1) {
		t.Fatal("a value read before the reset was kept")
	}
	if _, ok := c.Get("a"); ok {
		t.Fatal("Get found a dropped value")
	}
	after := c.Epoch()
	if !c.Put(after, "a", 2) {
		t.Fatal("a value read after the reset was dropped")
	}
	if v, ok := c.Get("a"); !ok || v != 2 {
		t.Fatalf("Get = %d, %v; want 2, true", v, ok)
	}
	c.Reset()
	if _, ok := c.Get("a"); ok || c.Len() != 0 {
		t.Fatal("Reset left a value")
	}
}

func TestFullCacheEmptiesOnNewKey(t *testing.T) {
	c := fillcache.New[int, int](3)
	e := c.Epoch()
	for k := range 3 {
		c.Put(e, k, k)
	}
	c.Put(e, 1, 10) // a key already kept does not empty it
	if c.Len() != 3 {
		t.Fatalf("Len = %d after replacing a value, want 3", c.Len())
	}
	c.Put(e, 3, 3)
	if c.Len() != 1 {
		t.Fatalf("Len = %d after a fourth key, want 1", c.Len())
	}
	if v, ok := c.Get(3); !ok || v != 3 {
		t.Fatalf("Get(3) = %d, %v", v, ok)
	}
}
