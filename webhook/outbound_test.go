package webhook

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
)

// leak is what the receivers of these tests answer in their bodies: it
// must never reach the delivery log or a job's error.
const leak = "INTERNAL-SECRET-9f2c"

// TestDeliveryLogKeepsNoBody: receivers that answer with a body (an error
// page of an internal service, say) leave only their status code and a
// short error class in the delivery log and the job, never the body.
func TestDeliveryLogKeepsNoBody(t *testing.T) {
	var hits atomic.Int32
	body := func(status int) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			hits.Add(1)
			w.WriteHeader(status)
			_, _ = w.Write([]byte(leak + " " + strings.Repeat("x", 600)))
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	down, gone := body(500), body(403)
	s := newStack(t, jobs.KindOptions{MaxAttempts: 2},
		Policy{Name: "p", EventTypes: []string{"PUSH_ARTIFACT"}, Enabled: true,
			Targets: []Target{{Type: "http", Address: down}, {Type: "http", Address: gone}}})
	s.push(t, "team/app:v1")
	eventually.True(t, "two dead letters", func() bool {
		js, _ := s.queue.List(context.Background(), meta.JobFilter{State: meta.JobDead}, 0, 0)
		return len(js) == 2
	})
	want := map[string]DeliveryAttempt{down: {Status: 500, Error: "http 500"}, gone: {Status: 403, Error: "http 403"}}
	for _, d := range s.deliveries(t) {
		if len(d.Attempts) == 0 {
			t.Fatalf("delivery %s logged no attempt", d.ID)
		}
		for _, a := range d.Attempts {
			if w := want[d.Address]; a.Status != w.Status || a.Error != w.Error {
				t.Errorf("%s: attempt logged status %d, error %q; want %d, %q", d.Address, a.Status, a.Error, w.Status, w.Error)
			}
		}
		j, err := s.queue.Get(t.Context(), d.JobID)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(j.LastError, leak) {
			t.Errorf("job error %q echoes the receiver's body", j.LastError)
		}
	}
	if hits.Load() != 3 {
		t.Errorf("receivers got %d requests, want 3 (two to the 500, one to the 403)", hits.Load())
	}
}

// TestDeliveryLogErrorClass: a target that does not answer leaves a short
// class of the failure, not the error's text.
func TestDeliveryLogErrorClass(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String() + "/hook?token=" + leak
	_ = l.Close()
	s := newStack(t, jobs.KindOptions{MaxAttempts: 1},
		Policy{Name: "p", EventTypes: []string{"PUSH_ARTIFACT"}, Enabled: true,
			Targets: []Target{{Type: "http", Address: closed}}})
	s.push(t, "team/app:v1")
	eventually.True(t, "a dead letter", func() bool {
		js, _ := s.queue.List(context.Background(), meta.JobFilter{State: meta.JobDead}, 0, 0)
		return len(js) == 1
	})
	d := s.deliveries(t)
	if len(d) != 1 || len(d[0].Attempts) != 1 || d[0].Attempts[0].Error != "connection refused" || d[0].Attempts[0].Status != 0 {
		t.Fatalf("delivery log %+v", d)
	}
	j, _ := s.queue.Get(t.Context(), d[0].JobID)
	if strings.Contains(j.LastError, leak) || !strings.Contains(j.LastError, "connection refused") {
		t.Errorf("job error %q", j.LastError)
	}
}

// TestTargetsOnInternalAddressesRefused: with nothing allowed, a live
// receiver on 127.0.0.1, reached by address or by a name resolving to it,
// gets nothing and the delivery log says why; once 127.0.0.0/8 is allowed
// the same target is delivered to.
func TestTargetsOnInternalAddressesRefused(t *testing.T) {
	rcv := newReceiver(t, 200)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(rcv.url, "http://"))
	targets := []Target{{Type: "http", Address: rcv.url}, {Type: "http", Address: "http://localhost:" + port},
		{Type: "slack", Address: "http://[::ffff:127.0.0.1]:" + port}, {Type: "http", Address: rcv.url, Format: "cloudevents"}}
	s := newGuardedStack(t, nil, jobs.KindOptions{MaxAttempts: 3},
		Policy{Name: "p", EventTypes: []string{"PUSH_ARTIFACT"}, Enabled: true, Targets: targets})
	s.push(t, "team/app:v1")
	eventually.True(t, "dead letters", func() bool {
		js, _ := s.queue.List(context.Background(), meta.JobFilter{State: meta.JobDead}, 0, 0)
		return len(js) == len(targets)
	})
	if n := len(rcv.requests()); n != 0 {
		t.Fatalf("the internal receiver got %d requests", n)
	}
	for _, d := range s.deliveries(t) {
		if len(d.Attempts) != 1 || d.Attempts[0].Error != "forbidden address" {
			t.Errorf("%s: delivery log %+v, want one attempt (no retries) refused as a forbidden address", d.Address, d.Attempts)
		}
	}

	allowed := newStack(t, jobs.KindOptions{MaxAttempts: 1},
		Policy{Name: "p", EventTypes: []string{"PUSH_ARTIFACT"}, Enabled: true, Targets: targets[:1]})
	allowed.push(t, "team/app:v1")
	eventually.True(t, "the delivery", func() bool { return len(rcv.requests()) == 1 })
}

// TestReceiverRedirectNotFollowed: a receiver that redirects (to an
// internal address, say) is not followed; the log says "redirect".
func TestReceiverRedirectNotFollowed(t *testing.T) {
	inner := newReceiver(t, 200)
	front := httptest.NewServer(http.RedirectHandler(inner.url, http.StatusTemporaryRedirect))
	t.Cleanup(front.Close)
	s := newStack(t, jobs.KindOptions{MaxAttempts: 1},
		Policy{Name: "p", EventTypes: []string{"PUSH_ARTIFACT"}, Enabled: true,
			Targets: []Target{{Type: "http", Address: front.URL}}})
	s.push(t, "team/app:v1")
	eventually.True(t, "a dead letter", func() bool {
		js, _ := s.queue.List(context.Background(), meta.JobFilter{State: meta.JobDead}, 0, 0)
		return len(js) == 1
	})
	d := s.deliveries(t)
	if len(d) != 1 || len(d[0].Attempts) != 1 || d[0].Attempts[0].Error != "redirect" {
		t.Fatalf("delivery log %+v", d)
	}
	if n := len(inner.requests()); n != 0 {
		t.Fatalf("the redirect target got %d requests", n)
	}
}
