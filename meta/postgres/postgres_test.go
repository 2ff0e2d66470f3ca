package postgres_test

import (
	"testing"
	"time"

	"github.com/berthreg/berth/internal/testpg"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/metatest"
	"github.com/berthreg/berth/meta/postgres"
)

// TestConformance runs the metadata conformance suite, each subtest on a
// fresh database.
func TestConformance(t *testing.T) {
	metatest.Run(t, func(t *testing.T) meta.Store { return testpg.Open(t) })
}

// TestConformanceWithReadCache runs the suite on stores with a read cache
// whose entries never expire: the suite's Views do not ask for cached
// reads, so they must see exact snapshots whatever the cache holds, and
// the cache's bookkeeping must not disturb Updates.
func TestConformanceWithReadCache(t *testing.T) {
	metatest.Run(t, func(t *testing.T) meta.Store { return testpg.Open(t, postgres.WithReadCache(time.Hour)) })
}
