package postgres_test

import (
	"testing"

	"github.com/berthreg/berth/internal/testpg"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/metatest"
)

// TestConformance runs the metadata conformance suite, each subtest on a
// fresh database.
func TestConformance(t *testing.T) {
	metatest.Run(t, func(t *testing.T) meta.Store { return testpg.Open(t) })
}
