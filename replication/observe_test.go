package replication

import (
	"sync"
	"testing"

	"github.com/berthreg/berth/internal/eventually"
)

// TestObserverSeesTaskAttempts: each attempt at a task is reported with
// its operation, its outcome and the bytes it sent.
func TestObserverSeesTaskAttempts(t *testing.T) {
	var (
		mu   sync.Mutex
		seen []TaskAttempt
	)
	r := newRigWith(t, []EngineOption{WithObserver(func(a TaskAttempt) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, a)
	})})
	push(t, r.src.Host, "team/a:v1")
	push(t, r.src.Host, "team/b:v1")
	r.policy(PolicyRecord{Name: "p", Destination: "dst", Repositories: []string{"team/**"}})
	e := r.wait(r.start("p"))
	if e.Status != StatusSucceeded || e.Succeeded != 2 {
		t.Fatalf("execution %+v", e)
	}
	// The execution ends with its last task's record; the report follows.
	eventually.True(t, "both attempts reported", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) >= 2
	})
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 {
		t.Fatalf("observed %+v, want 2 attempts", seen)
	}
	var sent int64
	for _, a := range seen {
		if a.Operation != OpCopy || a.Outcome != "succeeded" || a.Bytes <= 0 {
			t.Errorf("attempt %+v, want a copy that succeeded and sent bytes", a)
		}
		sent += a.Bytes
	}
	if sent != e.Bytes {
		t.Errorf("attempts sent %d bytes, the execution counts %d", sent, e.Bytes)
	}
}
