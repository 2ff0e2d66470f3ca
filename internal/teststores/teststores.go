// Package teststores runs tests on every metadata store backend the
// tests can open: the multi-instance tests of jobs, events and their
// consumers take an opener, so that the same test runs on an embedded
// store and on a shared database server.
package teststores

import (
	"os"
	"testing"

	"github.com/berthreg/berth/internal/testbolt"
	"github.com/berthreg/berth/internal/testpg"
	"github.com/berthreg/berth/meta"
)

// EnvBackend names the backend Open opens: "bolt" (or unset) or
// "postgres" (then testpg.EnvDSN must be set: the run fails rather than
// skip, so a suite asked to run on PostgreSQL never passes without it).
const EnvBackend = "BERTH_TEST_META"

// Open returns a new, empty store of the backend EnvBackend names,
// closed when t ends: the feature packages' suites open their stores
// with it, so `make test` runs them once on bbolt and once on
// PostgreSQL.
func Open(t testing.TB) meta.Store {
	t.Helper()
	switch b := os.Getenv(EnvBackend); b {
	case "", "bolt":
		return testbolt.Open(t)
	case "postgres":
		if os.Getenv(testpg.EnvDSN) == "" {
			t.Fatalf("%s=postgres needs %s: run under scripts/postgres.sh", EnvBackend, testpg.EnvDSN)
		}
		return testpg.Open(t)
	default:
		t.Fatalf("%s=%q: want bolt or postgres", EnvBackend, b)
		return nil
	}
}

// Opener opens a new, empty store for t, closed when t ends. Several
// "instances" in one test share the one store it returns.
type Opener func(t testing.TB) meta.Store

// Backend is a store the tests run on.
type Backend struct {
	// Name names the subtest ("bolt").
	Name string
	// Open opens a new store of the backend.
	Open Opener
}

// Backends returns the backends available to this test run: bbolt
// always, PostgreSQL when testpg.EnvDSN names a server (scripts/postgres.sh).
func Backends() []Backend {
	bs := []Backend{{Name: "bolt", Open: func(t testing.TB) meta.Store { return testbolt.Open(t) }}}
	if os.Getenv(testpg.EnvDSN) != "" {
		bs = append(bs, Backend{Name: "postgres", Open: func(t testing.TB) meta.Store { return testpg.Open(t) }})
	}
	return bs
}

// Each runs f as a subtest on each backend.
func Each(t *testing.T, f func(t *testing.T, open Opener)) {
	t.Helper()
	for _, b := range Backends() {
		t.Run(b.Name, func(t *testing.T) { f(t, b.Open) })
	}
}
