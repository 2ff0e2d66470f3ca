// Package testjobs makes job runners and queues for tests, failing the
// test on a constructor error.
package testjobs

import (
	"testing"

	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
)

// Runner returns jobs.NewRunner(store, opts...), failing t on an error.
func Runner(t testing.TB, store meta.Store, opts ...jobs.RunnerOption) *jobs.Runner {
	t.Helper()
	r, err := jobs.NewRunner(store, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Queue returns jobs.NewQueue(store, opts...), failing t on an error.
func Queue(t testing.TB, store meta.Store, opts ...jobs.QueueOption) *jobs.Queue {
	t.Helper()
	q, err := jobs.NewQueue(store, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return q
}
