// Package testbolt opens throw-away bbolt metadata stores for tests.
package testbolt

import (
	"path/filepath"
	"testing"

	"github.com/berthreg/berth/meta/bolt"
)

// Open returns a new bbolt store (NoSync) in a temporary directory,
// closed when the test ends.
func Open(t testing.TB) *bolt.Store {
	t.Helper()
	s, err := bolt.Open(filepath.Join(t.TempDir(), "meta.db"), bolt.NoSync())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}
