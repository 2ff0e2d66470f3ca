// Package eventually waits in tests for something that background work
// makes true.
package eventually

import (
	"testing"
	"time"
)

// True polls cond every few milliseconds until it holds, and fails the
// test naming what it waited for if a minute passes first: long enough
// for a machine busy with other work, and only a failing test waits it out.
func True(t testing.TB, what string, cond func() bool) {
	t.Helper()
	Within(t, time.Minute, what, cond)
}

// Within is True with another bound, for work that takes longer on a
// busy machine than a minute allows (a scan seen through a browser).
func Within(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
