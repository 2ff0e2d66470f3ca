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
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
