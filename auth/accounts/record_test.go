package accounts

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/meta"
)

func loginEvents(t *testing.T, s meta.Store) []meta.Event {
	t.Helper()
	var out []meta.Event
	if err := s.View(t.Context(), func(tx meta.Tx) error {
		all, err := tx.Events().List(0, 0)
		for _, e := range all {
			if e.Type == events.Login {
				out = append(out, e)
			}
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestFailedLoginsAreBounded: 300 failed logins with 64 KB names (what an
// unauthenticated client can send) grow the store by well under 1 MB:
// names are cut to 64 bytes or replaced, and failed logins beyond
// maxFailedLoginEvents a minute are counted, not recorded.
func TestFailedLoginsAreBounded(t *testing.T) {
	s, path := openStore(t)
	t.Cleanup(func() { s.Close() })
	m := newManager(t, s)
	now := time.Now()
	m.now = func() time.Time { return now }
	before := loginEvents(t, s)
	fi0, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("a", 64<<10)
	for i := range 300 {
		name := long
		if i%2 == 1 {
			name = strings.Repeat("\u00e9\"<", 20000) // not a user name at all
		}
		if err := m.RecordLogin(t.Context(), name, false); err != nil {
			t.Fatal(err)
		}
	}
	fi1, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if grew := fi1.Size() - fi0.Size(); grew > 1<<20 {
		t.Errorf("300 failed logins grew the store by %d bytes", grew)
	}
	got := loginEvents(t, s)[len(before):]
	size := 0
	for _, e := range got {
		b, _ := json.Marshal(e)
		size += len(b)
		if len(e.Operator) > maxLoggedName || len(e.Resource) > maxLoggedName {
			t.Fatalf("a failed login recorded a name of %d bytes: %.100q", len(e.Operator), e.Operator)
		}
		if e.Operator != invalidNamePlaceholder && !strings.HasPrefix(long, strings.TrimSuffix(e.Operator, "...")) {
			t.Fatalf("recorded name %q", e.Operator)
		}
	}
	if len(got) != maxFailedLoginEvents {
		t.Fatalf("%d failed logins recorded in one minute, want %d", len(got), maxFailedLoginEvents)
	}
	if size > 64<<10 {
		t.Errorf("the failed logins' events take %d bytes", size)
	}

	// Successful logins are always recorded; a failed one in the next
	// minute is, and says how many went unrecorded.
	if err := m.RecordLogin(t.Context(), "alice", true); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Minute)
	if err := m.RecordLogin(t.Context(), "bob", false); err != nil {
		t.Fatal(err)
	}
	got = loginEvents(t, s)[len(before)+maxFailedLoginEvents:]
	if len(got) != 2 || got[0].Operator != "alice" || got[0].Result != "success" || got[1].Operator != "bob" ||
		got[1].Details["unrecorded_failures"] != "270" {
		t.Fatalf("after the limit: %+v", got)
	}
	if n := m.UnrecordedFailedLogins(); n != 270 {
		t.Fatalf("UnrecordedFailedLogins = %d, want 270", n)
	}
}
