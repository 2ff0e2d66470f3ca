package fillcache

import (
	"sync/atomic"
	"testing"
)

// Through reads every time until live is set, then once per epoch.
func TestThrough(t *testing.T) {
	c := New[string, int](10)
	var live atomic.Bool
	reads := 0
	read := func() (int, error) { reads++; return reads, nil }
	for range 2 {
		if _, err := Through(c, &live, "k", read); err != nil {
			t.Fatal(err)
		}
	}
	if reads != 2 {
		t.Fatalf("not live: %d reads, want 2", reads)
	}
	live.Store(true)
	for range 3 {
		if v, _ := Through(c, &live, "k", read); v != 3 {
			t.Fatalf("live: value %d, want the third read's 3", v)
		}
	}
	c.Reset()
	if v, _ := Through(c, &live, "k", read); v != 4 || reads != 4 {
		t.Fatalf("after Reset: value %d after %d reads, want a fourth read", v, reads)
	}
}
