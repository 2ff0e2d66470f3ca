package cluster

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/berthreg/berth/internal/eventually"
)

// gate holds the requests of an HTTP peer of the cluster (a replication
// destination, a webhook receiver) until it is opened, so that a test
// can kill the instance that is talking to it mid-job.
type gate struct {
	mu     sync.Mutex
	held   int
	open   chan struct{}
	opened bool
}

func newGate() *gate { return &gate{open: make(chan struct{})} }

// wrap holds each request of h until the gate opens (or the client goes).
func (g *gate) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.held++
		g.mu.Unlock()
		select {
		case <-g.open:
		case <-r.Context().Done():
			return
		}
		h.ServeHTTP(w, r)
	})
}

// holding is how many requests have come so far.
func (g *gate) holding() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.held
}

// release lets every request through, now and later.
func (g *gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.opened {
		g.opened = true
		close(g.open)
	}
}

// job is the admin API's view of a job of the queue.
type job struct {
	ID       uint64 `json:"id"`
	Kind     string `json:"kind"`
	State    string `json:"state"`
	Attempts int    `json:"attempts"`
	Worker   string `json:"worker"`
}

// pid is the process id in the job's worker name (host:pid:random).
func (j job) pid() int {
	parts := strings.Split(j.Worker, ":")
	if len(parts) != 3 {
		return 0
	}
	pid, _ := strconv.Atoi(parts[1])
	return pid
}

// jobs lists the jobs of kind in state, through the balancer.
func (cl *client) jobs(t *testing.T, kind, state string) []job {
	t.Helper()
	var out []job
	for page := 1; ; page++ {
		var list []job
		cl.must(t, cl.c.url, "GET", fmt.Sprintf("/jobs?kind=%s&state=%s&page_size=100&page=%d", kind, state, page), "", &list, http.StatusOK)
		out = append(out, list...)
		if len(list) < 100 {
			return out
		}
	}
}

// killRunner waits until the gate holds a request and a job of kind is
// running on an instance, kills that instance, and returns it with the
// ids of the jobs it held when it died.
func (cl *client) killRunner(t *testing.T, g *gate, kind string) (*instance, []uint64) {
	t.Helper()
	var victim *instance
	eventually.True(t, "a "+kind+" job to hold a request at the gate", func() bool {
		if g.holding() == 0 {
			return false
		}
		for _, j := range cl.jobs(t, kind, "running") {
			if in := cl.c.byPID(j.pid()); in != nil {
				victim = in
				return true
			}
		}
		return false
	})
	cl.c.kill(t, victim)
	// Its leases stay its own until they expire (the cluster's job
	// lease, 5 s): these are the jobs it was running.
	var held []uint64
	for _, j := range cl.jobs(t, kind, "running") {
		if j.pid() == victim.currentPID() {
			held = append(held, j.ID)
		}
	}
	if len(held) == 0 {
		t.Fatalf("instance %d held no %s job once killed", victim.n, kind)
	}
	return victim, held
}

// takenOver waits until each of the jobs the killed instance held has
// ended, and checks that it succeeded, on a later attempt than the one
// that died with the instance.
func (cl *client) takenOver(t *testing.T, held []uint64) {
	t.Helper()
	for _, id := range held {
		var j job
		eventually.True(t, fmt.Sprintf("job %d to end", id), func() bool {
			cl.must(t, cl.c.url, "GET", fmt.Sprintf("/jobs/%d", id), "", &j, http.StatusOK)
			return j.State != "pending" && j.State != "running"
		})
		if j.State != "succeeded" || j.Attempts < 2 {
			t.Errorf("job %d the killed instance held: %+v, want succeeded on its second attempt or later", id, j)
		}
	}
}
