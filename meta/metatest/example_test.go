package metatest_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/bolt"
	"github.com/berthreg/berth/meta/metatest"
)

// A backend runs the suite from its own tests, handing Run a constructor
// for fresh, empty stores. This is meta/bolt's; a PostgreSQL backend would
// create a new schema or database per call instead.
func Example() {
	testConformance := func(t *testing.T) {
		metatest.Run(t, func(t *testing.T) meta.Store {
			s, err := bolt.Open(filepath.Join(t.TempDir(), "meta.db"), bolt.NoSync())
			if err != nil {
				t.Fatal(err)
			}
			return s // Run closes it when the subtest ends
		})
	}
	// In a backend's _test.go file this is simply
	//
	//	func TestConformance(t *testing.T) { ... body of testConformance ... }
	fmt.Printf("%T\n", testConformance)
	// Output: func(*testing.T)
}
