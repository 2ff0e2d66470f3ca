// Package eventually waits in tests for something that background work
// makes true.
package eventually

import (
	"testing"
	"time"
)

// True polls cond every few milliseconds until it holds, and fails the
// test naming what it waited for if 20 seconds pass first.
func True(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
