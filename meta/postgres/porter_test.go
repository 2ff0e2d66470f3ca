package postgres_test

import (
	"testing"

	"github.com/berthreg/berth/internal/testpg"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/metatest"
)

// TestPorter runs the whole-store copy suite, each store on a fresh
// database.
func TestPorter(t *testing.T) {
	metatest.RunPorter(t, func(t *testing.T) meta.Store { return testpg.Open(t) })
}
