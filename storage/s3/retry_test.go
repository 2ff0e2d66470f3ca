package s3

import (
	"bytes"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthreg/berth/internal/s3proxy"
)

// TestRetriesTransientErrors answers the first attempt of every third
// request with a transient error (503 SlowDown, 500, 429, 502), rotating,
// and checks that whole driver operations, multipart uploads and upload
// sessions included, still succeed with the right content: the SDK retries
// them after a backoff.
func TestRetriesTransientErrors(t *testing.T) {
	cfg, proxy := proxied(t, testConfig(t))
	d := newTunedDriver(t, cfg, nil)
	faults := []s3proxy.Fault{
		{Status: http.StatusServiceUnavailable, Code: "SlowDown"},
		{Status: http.StatusInternalServerError, Code: "InternalError"},
		{Status: http.StatusTooManyRequests, Code: "TooManyRequests"},
		{Status: http.StatusBadGateway, Code: "BadGateway"},
	}
	var mu sync.Mutex
	seen, injected := 0, map[int]int{}
	proxy.SetFault(func(op string, r *http.Request) *s3proxy.Fault {
		if !strings.HasPrefix(r.Header.Get("Amz-Sdk-Request"), "attempt=1;") {
			return nil // a retry goes through
		}
		mu.Lock()
		defer mu.Unlock()
		seen++
		if seen%3 != 0 {
			return nil
		}
		f := faults[(seen/3)%len(faults)]
		injected[f.Status]++
		return &f
	})
	start := time.Now()
	ctx := t.Context()

	small, large := pattern(7, 1000), pattern(8, 20<<20+11)
	putObject(t, d, "r/small", 0, small)
	putObject(t, d, "r/large", 0, large) // multipart: create, parts, complete
	var state []byte
	var want []byte
	for _, n := range []int{1000, 6 << 20, 2 << 20} {
		w, err := d.SessionWriter(ctx, "r/session", state)
		if err != nil {
			t.Fatal(err)
		}
		chunk := pattern(byte(n), n)
		if _, err := w.Write(chunk); err != nil {
			t.Fatal(err)
		}
		if state, err = w.Save(ctx); err != nil {
			t.Fatalf("Save: %v", err)
		}
		want = append(want, chunk...)
	}
	if err := d.CompleteSession(ctx, "r/session", state); err != nil {
		t.Fatalf("CompleteSession: %v", err)
	}
	if err := d.Move(ctx, "r/session", "r/moved"); err != nil {
		t.Fatalf("Move: %v", err)
	}
	names, err := d.List(ctx, "r", "", 0)
	if err != nil || strings.Join(names, ",") != "r/large,r/moved,r/small" {
		t.Fatalf("List = %q, %v", names, err)
	}
	for p, data := range map[string][]byte{"r/small": small, "r/large": large, "r/moved": want} {
		if got := readObject(t, d, p); !bytes.Equal(got, data) {
			t.Fatalf("%s: %d bytes, want %d matching", p, len(got), len(data))
		}
	}
	if err := d.Delete(ctx, "r"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	proxy.SetFault(nil)

	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d first attempts, faults injected by status %v, all operations took %v",
		seen, injected, time.Since(start).Round(time.Millisecond))
	for _, f := range faults {
		if injected[f.Status] == 0 {
			t.Errorf("no %d was injected; the test exercised nothing for it", f.Status)
		}
	}
}
