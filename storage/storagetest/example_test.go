package storagetest_test

import (
	"testing"

	"github.com/berthreg/berth/storage"
	"github.com/berthreg/berth/storage/memory"
	"github.com/berthreg/berth/storage/storagetest"
)

// ExampleRun shows the test a driver author adds to the driver's package;
// here the driver is storage/memory. newDriver is called once per subtest and
// must return an empty driver, cleaning up through t.Cleanup if needed.
func ExampleRun() {
	conformance := func(t *testing.T) {
		storagetest.Run(t, func(t *testing.T) storage.Driver {
			return memory.New()
		})
	}
	// In a real package this is func TestConformance(t *testing.T).
	_ = conformance
}
