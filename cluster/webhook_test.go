package cluster

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/webhook"
)

// receiver counts signed webhook deliveries by delivery id
// (webhook-id, one per delivery job, the same on every attempt) and by
// the tag@digest they report.
type receiver struct {
	mu        sync.Mutex
	byID      map[string]int
	resources map[string]int
	bad       []string
}

// TestWebhookDeliveriesSurviveKill: pushes through the balancer make
// PUSH_ARTIFACT events, which a policy sends to a receiver that holds
// every request; once deliveries are in flight the instance making one is
// killed and the receiver answers. Every push is delivered, signed, at
// least once; a delivery arrives twice only if its job was one the killed
// instance held (its attempt died before it could record the outcome, so
// another instance ran the job again: at least once, as the design
// promises, and no more).
func TestWebhookDeliveriesSurviveKill(t *testing.T) {
	c := need(t)
	cl := c.client(t)
	project := cl.project(t, "lb-hook")
	const secret = "whsec-cluster-test"

	rcv := &receiver{byID: map[string]int{}, resources: map[string]int{}}
	g := newGate()
	t.Cleanup(g.release)
	count := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		var p webhook.Payload
		rcv.mu.Lock()
		switch {
		case err != nil:
			rcv.bad = append(rcv.bad, "reading: "+err.Error())
		case webhook.Verify(r.Header, secret, body, time.Now(), 10*time.Minute) != nil:
			rcv.bad = append(rcv.bad, "signature of "+r.Header.Get(webhook.HeaderID))
		case json.Unmarshal(body, &p) != nil || p.Type != "PUSH_ARTIFACT":
			rcv.bad = append(rcv.bad, "payload "+string(body))
		default:
			rcv.byID[r.Header.Get(webhook.HeaderID)]++
			for _, res := range p.EventData.Resources {
				rcv.resources[res.Tag+"@"+res.Digest]++
			}
		}
		rcv.mu.Unlock()
	})
	// The body is read and counted before the gate: a delivery the killed
	// instance had sent counts as received.
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		count(w, r)
		g.wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })).ServeHTTP(w, r)
	}))
	t.Cleanup(hook.Close)
	policies := "/projects/" + project + "/webhook/policies"
	cl.must(t, c.url, "POST", policies, `{"name":"hook","enabled":true,"event_types":["PUSH_ARTIFACT"],
		"targets":[{"type":"http","address":"`+hook.URL+`/hook","secret":"`+secret+`"}]}`, nil, http.StatusCreated)
	// Its receiver goes with the test: so do its deliveries.
	t.Cleanup(func() { cl.must(t, c.url, "DELETE", policies+"/hook", "", nil, http.StatusOK, http.StatusNoContent) })

	const pushes = 10
	var want []string
	for i := range pushes {
		img, err := random.Image(1024, 1)
		if err != nil {
			t.Fatal(err)
		}
		tag := fmt.Sprintf("v%d", i)
		if err := cl.push(t, c.host, project+"/app:"+tag, img, 1); err != nil {
			t.Fatal(err)
		}
		d, _ := img.Digest()
		want = append(want, tag+"@"+d.String())
	}

	victim, held := cl.killRunner(t, g, webhook.JobKind)
	g.release()
	eventually.True(t, "every push to be delivered", func() bool {
		rcv.mu.Lock()
		defer rcv.mu.Unlock()
		for _, w := range want {
			if rcv.resources[w] == 0 {
				return false
			}
		}
		return true
	})
	cl.takenOver(t, held)
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	for _, b := range rcv.bad {
		t.Errorf("bad delivery: %s", b)
	}
	if len(rcv.byID) != pushes {
		t.Errorf("%d deliveries, want one for each of the %d pushes", len(rcv.byID), pushes)
	}
	heldIDs := make([]string, len(held))
	for i, id := range held {
		heldIDs[i] = webhook.DeliveryID(id)
	}
	twice := 0
	for id, n := range rcv.byID {
		if n > 1 {
			twice++
			if !slices.Contains(heldIDs, id) {
				t.Errorf("delivery %s arrived %d times, but its job was not one the killed instance held (%v)", id, n, heldIDs)
			}
		}
	}
	t.Logf("killed instance %d holding delivery jobs %v; %d deliveries of %d pushes, %d of them twice",
		victim.n, held, len(rcv.byID), pushes, twice)
	c.restart(t, victim)
}
