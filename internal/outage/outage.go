// Package outage is the one rule Berth's HTTP surfaces (the distribution
// API, its guard, the token service, the admin API with browser
// sessions, readiness) apply to a backend that cannot be reached: an
// error wrapping meta.ErrUnavailable or storage.ErrUnavailable is no
// fault of the request nor of the client's credentials, so it is
// answered 503 Service Unavailable with a Retry-After of RetryAfter
// seconds, never 500, 401 or 403. Each surface classifies with Is before
// any other mapping and renders the answer in its own error shape.
package outage

import (
	"errors"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/storage"
)

// RetryAfter is the Retry-After header value, in seconds, that every
// answer to an outage carries: short, since a backend that comes back
// serves the retry at once, and clients back off further on their own.
const RetryAfter = "1"

// Is reports whether err says a backend cannot be reached: it wraps
// meta.ErrUnavailable or storage.ErrUnavailable.
func Is(err error) bool {
	return errors.Is(err, meta.ErrUnavailable) || errors.Is(err, storage.ErrUnavailable)
}

// Message is the client-facing explanation of an outage err (Is(err)),
// naming the backend but nothing of its address or error.
func Message(err error) string {
	if errors.Is(err, meta.ErrUnavailable) {
		return "the metadata store is unavailable; retry later"
	}
	return "the storage backend is unavailable; retry later"
}
