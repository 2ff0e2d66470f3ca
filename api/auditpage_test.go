package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/meta"
)

// countingStore counts the events its transactions' logs hand out or
// examine.
type countingStore struct {
	meta.Store
	touched *atomic.Int64
}

type countingTx struct {
	meta.Tx
	touched *atomic.Int64
}

type countingEvents struct {
	meta.Events
	touched *atomic.Int64
}

func (s countingStore) View(ctx context.Context, fn func(meta.Tx) error) error {
	return s.Store.View(ctx, func(tx meta.Tx) error { return fn(countingTx{tx, s.touched}) })
}

func (s countingStore) Update(ctx context.Context, fn func(meta.Tx) error) error {
	return s.Store.Update(ctx, func(tx meta.Tx) error { return fn(countingTx{tx, s.touched}) })
}

func (t countingTx) Events() meta.Events { return countingEvents{t.Tx.Events(), t.touched} }

func (e countingEvents) List(after uint64, limit int) ([]meta.Event, error) {
	l, err := e.Events.List(after, limit)
	e.touched.Add(int64(len(l)))
	return l, err
}

func (e countingEvents) Backward(before uint64, limit, maxScan int, match func(meta.Event) bool) (meta.EventPage, error) {
	counted := func(ev meta.Event) bool {
		e.touched.Add(1)
		return match == nil || match(ev)
	}
	return e.Events.Backward(before, limit, maxScan, counted)
}

// TestAuditPagesInTheStore: with 100,000 events in the log, a one-item
// page, a later page and a filtered page that matches nothing nearby each
// touch a bounded number of events; the filtered walk continues through
// its Link until it finds the one old match.
func TestAuditPagesInTheStore(t *testing.T) {
	var touched atomic.Int64
	store := openStore(t)
	url, _ := newAPIOn(t, countingStore{store, &touched})
	admin := client{t, url, "admin", "admin-password"}
	admin.want("POST", "/projects", `{"project_name":"team"}`, 201, "")
	const n = 100000
	base := time.Now().Add(-time.Hour)
	for i := 0; i < n; i += 10000 {
		if err := store.Update(t.Context(), func(tx meta.Tx) error {
			for j := i; j < i+10000; j++ {
				e := meta.Event{Type: "PUSH_ARTIFACT", Time: base, Operator: "ci", Project: "team", Repository: "team/app", Tag: fmt.Sprint(j)}
				if j == 5 || j == 7 {
					e = meta.Event{Type: "DELETE_PROJECT", Time: base, Operator: fmt.Sprint("old", j), Resource: "gone"}
				}
				if _, err := tx.Events().Append(e); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	get := func(path string) (*http.Response, []auditLog, int64) {
		t.Helper()
		touched.Store(0)
		resp, out := admin.want("GET", path, "", 200, "")
		var l []auditLog
		if err := json.Unmarshal([]byte(out), &l); err != nil {
			t.Fatalf("%s: %v: %s", path, err, out)
		}
		return resp, l, touched.Load()
	}

	resp, l, c := get("/audit-logs?page_size=1")
	if len(l) != 1 || l[0].Operation != "PUSH_ARTIFACT" || l[0].Resource != fmt.Sprintf("team/app:%d", n-1) || c > 10 {
		t.Fatalf("one-item page: %+v, %d events touched", l, c)
	}
	if total := resp.Header.Get("X-Total-Count"); total == "" {
		t.Errorf("no X-Total-Count on an unfiltered page")
	}
	_, l, c = get("/audit-logs?page=1000&page_size=10")
	if len(l) != 10 || l[0].Resource != fmt.Sprintf("team/app:%d", n-1-9990) || c > 20 {
		t.Fatalf("page 1000: first %+v, %d events touched", l[0], c)
	}
	_, l, c = get("/projects/team/logs?page_size=1")
	if len(l) != 1 || c > 10 {
		t.Fatalf("a project's one-item page: %+v, %d events touched", l, c)
	}

	// A filter matching only two old events: each request touches at most
	// events.MaxAuditScan events and links to the next; following the links
	// finds page 1 and page 2 of the matches.
	walk := func(path string) []auditLog {
		t.Helper()
		var found []auditLog
		for range n/events.MaxAuditScan + 2 { // the walk ends before; this bounds a broken one
			resp, l, c := get(path)
			if c > events.MaxAuditScan+1 {
				t.Fatalf("%s touched %d events (bound %d)", path, c, events.MaxAuditScan)
			}
			if resp.Header.Get("X-Total-Count") != "" {
				t.Errorf("%s: X-Total-Count on a filtered page", path)
			}
			found = append(found, l...)
			next := nextLink(resp.Header.Get("Link"))
			if next == "" {
				return found
			}
			path = strings.TrimPrefix(next, Prefix)
		}
		t.Fatalf("the walk from %s did not end", path)
		return nil
	}
	if found := walk("/audit-logs?q=operation=DELETE_PROJECT&page_size=1"); len(found) != 2 || found[0].Username != "old7" || found[1].Username != "old5" {
		t.Fatalf("following the links of page 1 found %+v, want old7 then old5", found)
	}
	if found := walk("/audit-logs?q=operation=DELETE_PROJECT&page=2&page_size=1"); len(found) != 1 || found[0].Username != "old5" {
		t.Fatalf("following the links of page 2 found %+v, want old5", found)
	}
	if found := walk("/audit-logs?q=operation=DELETE_PROJECT&page=3&page_size=1"); len(found) != 0 {
		t.Fatalf("page 3 found %+v, want nothing", found)
	}
	admin.want("GET", "/audit-logs?before=x", "", 400, "BAD_REQUEST")
	admin.want("GET", "/audit-logs?skip=-1", "", 400, "BAD_REQUEST")
	admin.want("GET", "/audit-logs?page=999999999999999999&page_size=100", "", 400, "BAD_REQUEST")
	admin.want("GET", "/audit-logs?q=operation=LOGIN&page=999999999999999999&page_size=100", "", 400, "BAD_REQUEST")
}

// nextLink returns the rel="next" URL of a Link header, or "".
func nextLink(h string) string {
	for _, part := range strings.Split(h, ",") {
		u, rel, ok := strings.Cut(strings.TrimSpace(part), ";")
		if ok && strings.Contains(rel, `rel="next"`) {
			u = strings.Trim(strings.TrimSpace(u), "<>")
			if p, err := url.Parse(u); err == nil {
				return p.RequestURI()
			}
		}
	}
	return ""
}
