package httplimit

import (
	"errors"
	"io"
	"net/http"
	"os"
	"sync"
	"time"
)

// IdleBodies returns h with an idle timeout on every request body: a read
// of the body that waits longer than idle for data fails with a timeout
// error (os.ErrDeadlineExceeded), so the handler ends and the server closes
// the connection. Each read extends the deadline, so a body that keeps
// arriving, however slowly in total, is read to its end. When the body is
// done the deadline is lifted again.
//
// It sets the connection's read deadline through http.ResponseController,
// so it must see the server's ResponseWriter (or one that unwraps to it):
// put it outermost. Where the writer cannot set deadlines the body is
// passed through unchanged. idle <= 0 returns h itself.
func IdleBodies(h http.Handler, idle time.Duration) http.Handler {
	if idle <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			rc := http.NewResponseController(w)
			b := &idleBody{body: r.Body, rc: rc, idle: idle, now: time.Now}
			if b.extend(true) {
				// A copy of the request carries the wrapper: the server
				// keeps its own body, to judge after the handler whether
				// the connection can be reused.
				r = r.WithContext(r.Context())
				r.Body = b
				defer b.extend(true) // what the server discards of an unread body gets one idle timeout
			}
		}
		h.ServeHTTP(w, r)
	})
}

// idleBody is a request body whose every read moves the connection's read
// deadline to idle from now.
type idleBody struct {
	body io.ReadCloser
	rc   *http.ResponseController
	idle time.Duration
	now  func() time.Time

	mu       sync.Mutex
	deadline time.Time // the deadline set
	done     bool      // the body ended or timed out: deadlines are left alone
}

// extend moves the deadline to idle from now when less than half of it is
// left (force: always), and reports whether the writer supports deadlines.
// Once the body ended (EOF) or timed out, it does nothing.
func (b *idleBody) extend(force bool) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return true
	}
	now := b.now()
	if !force && b.deadline.Sub(now) > b.idle/2 {
		return true // setting a deadline costs a timer update; half is plenty
	}
	d := now.Add(b.idle)
	if err := b.rc.SetReadDeadline(d); err != nil {
		return !errors.Is(err, http.ErrNotSupported)
	}
	b.deadline = d
	return true
}

// lift removes the deadline: the body is done, and the server's own read
// of the next request must not inherit it.
func (b *idleBody) lift() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.done {
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
}

// Read implements io.Reader. At the end of the body the deadline is
// lifted; after a timeout it stays, and the body is closed, which tells
// the server the connection cannot be reused.
func (b *idleBody) Read(p []byte) (int, error) {
	b.extend(false)
	n, err := b.body.Read(p)
	switch {
	case err == io.EOF:
		b.lift()
	case errors.Is(err, os.ErrDeadlineExceeded):
		b.mu.Lock()
		b.done = true
		b.mu.Unlock()
		_ = b.body.Close()
	}
	return n, err
}

// Close implements io.Closer.
func (b *idleBody) Close() error { return b.body.Close() }
