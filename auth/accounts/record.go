package accounts

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/meta"
)

// record appends e to the event log in tx, the change's own transaction,
// with the operator the context names (auth.WithPrincipal) unless e has
// one.
func record(ctx context.Context, tx meta.Tx, e meta.Event) error {
	if e.Operator == "" {
		if p, ok := auth.PrincipalFrom(ctx); ok {
			e.Operator = p.Name
		}
	}
	if e.Result == "" {
		e.Result = "success"
	}
	_, err := tx.Events().Append(e)
	return err
}

// Bounds of what failed logins, which anyone can cause, write to the log.
const (
	// maxLoggedName is the most of a name a failed login records.
	maxLoggedName = 64
	// invalidNamePlaceholder stands for a name no account could have.
	invalidNamePlaceholder = "(invalid)"
	// maxFailedLoginEvents is how many failed logins a Manager records
	// per minute; the rest are counted.
	maxFailedLoginEvents = 30
)

// RecordLogin appends a login (a session sign-in) to the event log, with
// its result: the audit trail of who signed in, and who failed to.
//
// A failed login is anyone's to cause, so what it writes is bounded: the
// name is recorded as given only when it could be an account name (letters,
// digits and ".-_@+$"), cut to 64 bytes ("..." marks a cut), else as
// "(invalid)"; and each Manager records at most 30 failed logins a minute.
// Those beyond are not recorded but counted (UnrecordedFailedLogins), and
// the next failed login recorded carries the count since the previous one
// in its details as "unrecorded_failures". Successful logins are always
// recorded.
func (m *Manager) RecordLogin(ctx context.Context, name string, ok bool) (err error) {
	e := meta.Event{Type: events.Login, Operator: name, Resource: name, Result: "success"}
	if !ok {
		admitted, unrecorded := m.failed.admit(m.now())
		if !admitted {
			return nil
		}
		name = loggedName(name)
		e = meta.Event{Type: events.Login, Operator: name, Resource: name, Result: "failure"}
		if unrecorded > 0 {
			e.Details = map[string]string{"unrecorded_failures": strconv.FormatUint(unrecorded, 10)}
		}
		defer func() {
			if err != nil {
				m.failed.giveBack(unrecorded)
			}
		}()
	}
	return m.store.Update(ctx, func(tx meta.Tx) error { return record(ctx, tx, e) })
}

// UnrecordedFailedLogins returns how many failed logins this Manager has
// counted without recording them since it started.
func (m *Manager) UnrecordedFailedLogins() uint64 {
	m.failed.mu.Lock()
	defer m.failed.mu.Unlock()
	return m.failed.total
}

// loggedName is what a failed login records of the name it was given.
func loggedName(name string) string {
	for _, c := range []byte(name) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(".-_@+$", c) >= 0) {
			return invalidNamePlaceholder
		}
	}
	switch {
	case name == "":
		return invalidNamePlaceholder
	case len(name) > maxLoggedName:
		return name[:maxLoggedName-3] + "..."
	}
	return name
}

// failedLogins is a Manager's budget of failed-login events: a fixed
// window of a minute from its first failure.
type failedLogins struct {
	mu         sync.Mutex
	start      time.Time
	recorded   int
	unrecorded uint64 // since the last one recorded
	total      uint64 // since the Manager started
}

// admit reports whether a failed login at now is recorded, and if so how
// many went unrecorded before it.
func (b *failedLogins) admit(now time.Time) (bool, uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.start.IsZero() || now.Sub(b.start) >= time.Minute || now.Before(b.start) {
		b.start, b.recorded = now, 0
	}
	if b.recorded >= maxFailedLoginEvents {
		b.unrecorded++
		b.total++
		return false, 0
	}
	b.recorded++
	n := b.unrecorded
	b.unrecorded = 0
	return true, n
}

// giveBack returns the count an event that failed to be written carried.
func (b *failedLogins) giveBack(n uint64) {
	b.mu.Lock()
	b.unrecorded += n
	b.mu.Unlock()
}
