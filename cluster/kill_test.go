package cluster

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

// acked is what pushes the registry acknowledged: tag → digest.
type acked struct {
	mu   sync.Mutex
	tags map[string]v1.Hash
	cond *sync.Cond
}

func newAcked() *acked {
	a := &acked{tags: map[string]v1.Hash{}}
	a.cond = sync.NewCond(&a.mu)
	return a
}

func (a *acked) add(tag string, d v1.Hash) {
	a.mu.Lock()
	a.tags[tag] = d
	a.mu.Unlock()
	a.cond.Broadcast()
}

// waitFor blocks until n pushes are acknowledged in all, or stop is
// closed; it fails the test if a minute passes first.
func (a *acked) waitFor(t *testing.T, n int, stop <-chan struct{}) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	wake := time.AfterFunc(time.Minute, a.cond.Broadcast)
	defer wake.Stop()
	go func() { <-stop; a.cond.Broadcast() }()
	a.mu.Lock()
	defer a.mu.Unlock()
	for len(a.tags) < n {
		select {
		case <-stop:
			return
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %d acknowledged pushes (%d so far)", n, len(a.tags))
		}
		a.cond.Wait()
	}
}

func (a *acked) snapshot() map[string]v1.Hash {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]v1.Hash, len(a.tags))
	for k, v := range a.tags {
		out[k] = v
	}
	return out
}

// pushers runs n goroutines pushing fresh random images (a tag each,
// named prefix-WORKER-SEQ) to repo at host until stop is closed,
// recording each acknowledged push; a push that fails even after
// attempts whole pushes is an error of the test, and calls halt (which
// must close stop). The function returned waits for them all.
func (cl *client) pushers(t *testing.T, n int, host, repo, prefix string, attempts int, image func() (v1.Image, error), a *acked, stop <-chan struct{}, halt func()) func() {
	var wg sync.WaitGroup
	for w := range n {
		wg.Go(func() {
			for seq := 0; ; seq++ {
				select {
				case <-stop:
					return
				default:
				}
				img, err := image()
				if err != nil {
					t.Error(err)
					halt()
					return
				}
				tag := fmt.Sprintf("%s-%d-%d", prefix, w, seq)
				if err := cl.push(t, host, repo+":"+tag, img, attempts); err != nil {
					t.Errorf("push %s to %s failed %d times: %v", tag, host, attempts, err)
					halt()
					return
				}
				d, _ := img.Digest()
				a.add(tag, d)
			}
		})
	}
	return wg.Wait
}

// TestKillInstanceDuringPushes: clients push through nginx while one
// instance is SIGKILLed. Requests it was serving fail (nginx answers 502
// for those it cannot send elsewhere) and the clients retry through the
// balancer, which sends them to the live instances; every push ends
// acknowledged, and each acknowledged push can be pulled, whole, from
// every instance, the killed one included once it is started again.
func TestKillInstanceDuringPushes(t *testing.T) {
	c := need(t)
	cl := c.client(t)
	repo := cl.project(t, "lb-kill") + "/app"
	victim := c.instances[len(c.instances)-1]

	a := newAcked()
	stop := make(chan struct{})
	stopOnce := sync.OnceFunc(func() { close(stop) })
	t.Cleanup(stopOnce)
	start := accessLogSize(t, c)
	wait := cl.pushers(t, 4, c.host, repo, "p", 5, func() (v1.Image, error) { return random.Image(256<<10, 2) }, a, stop, stopOnce)

	a.waitFor(t, 12, stop)
	if t.Failed() {
		t.FailNow()
	}
	c.kill(t, victim)
	before := len(a.snapshot())
	a.waitFor(t, before+16, stop)
	stopOnce()
	wait()
	if t.Failed() {
		t.FailNow()
	}
	c.restart(t, victim)

	got := a.snapshot()
	want := slices.Sorted(mapKeys(got))
	for _, in := range c.instances {
		for tag, d := range got {
			cl.verify(t, in.host, repo+":"+tag, d)
		}
		if tags := cl.tags(t, in.host, repo); !slices.Equal(tags, want) {
			t.Errorf("tags at instance %d: %d, want the %d acknowledged", in.n, len(tags), len(want))
		}
	}
	passed := 0
	for _, l := range accessSince(t, c, start) {
		if len(l.upstreams) > 1 {
			passed++
		}
	}
	t.Logf("%d pushes acknowledged before the kill of instance %d, %d in all; nginx passed %d requests on to another instance and answered %d with 502; answers: %s",
		before, victim.n, len(got), passed, cl.rec.count(http.StatusBadGateway), cl.rec)
}
