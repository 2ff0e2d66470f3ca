package generation

import (
	"fmt"
	"testing"

	"github.com/berthreg/berth/internal/teststores"
	"github.com/berthreg/berth/meta/metatest"
)

// TestRecordType round-trips a counter through the store, with the
// record-type checks of metatest.
func TestRecordType(t *testing.T) {
	metatest.RecordType(t, teststores.Open(t), counters, counter{Name: "accounts.policy", Value: 1 << 40},
		func(c counter, i int) counter {
			c.Value = uint64(i)
			if i > 0 {
				c.Name = fmt.Sprintf("counter-%02d", i)
			}
			return c
		})
}
