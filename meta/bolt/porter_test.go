package bolt_test

import (
	"testing"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/bolt"
	"github.com/berthreg/berth/meta/metatest"
)

// TestPorter runs the whole-store copy suite, each store in its own file.
func TestPorter(t *testing.T) {
	metatest.RunPorter(t, func(t *testing.T) meta.Store {
		s, _ := open(t, bolt.NoSync())
		return s
	})
}
