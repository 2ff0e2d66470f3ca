// Package teststores runs tests on every metadata store backend the
// tests can open: the multi-instance tests of jobs, events and their
// consumers take an opener, so that the same test runs on an embedded
// store and on a shared database server.
package teststores

import (
	"testing"

	"github.com/berthreg/berth/internal/testbolt"
	"github.com/berthreg/berth/meta"
)

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
// always. A backend that needs a server adds itself here when the run
// has one.
func Backends() []Backend {
	return []Backend{{Name: "bolt", Open: func(t testing.TB) meta.Store { return testbolt.Open(t) }}}
}

// Each runs f as a subtest on each backend.
func Each(t *testing.T, f func(t *testing.T, open Opener)) {
	t.Helper()
	for _, b := range Backends() {
		t.Run(b.Name, func(t *testing.T) { f(t, b.Open) })
	}
}
