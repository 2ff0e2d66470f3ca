package replication

import (
	"context"
	"io"
	"net/http"

	"golang.org/x/time/rate"
)

// limitChunk is the most bytes read or sent between two waits: small
// enough that the limit holds over short transfers.
const limitChunk = 256 << 10

// Limit wraps rt so that the bodies it sends and receives, together, move
// at most bytesPerSecond: a replication endpoint's bandwidth limit (pass
// it with remote.WithTransport).
func Limit(rt http.RoundTripper, bytesPerSecond int) http.RoundTripper {
	return LimitShared(rt, NewBandwidth(bytesPerSecond))
}

// NewBandwidth is a limiter of bytesPerSecond for LimitShared. Its burst
// (and so the most bytes handed out at once) is at most a second's
// worth, so that a low limit holds from the first byte.
func NewBandwidth(bytesPerSecond int) *rate.Limiter {
	return rate.NewLimiter(rate.Limit(bytesPerSecond), max(1, min(limitChunk, bytesPerSecond)))
}

// LimitShared is Limit with a limiter that several transports share:
// together they move at most its rate.
func LimitShared(rt http.RoundTripper, lim *rate.Limiter) http.RoundTripper {
	if rt == nil {
		rt = http.DefaultTransport
	}
	return &limited{rt: rt, lim: lim}
}

type limited struct {
	rt  http.RoundTripper
	lim *rate.Limiter
}

func (l *limited) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody {
		r := req.Clone(req.Context())
		r.Body = &limitedBody{rc: req.Body, lim: l.lim, ctx: req.Context()}
		req = r
	}
	resp, err := l.rt.RoundTrip(req)
	if err == nil && resp.Body != nil {
		resp.Body = &limitedBody{rc: resp.Body, lim: l.lim, ctx: req.Context()}
	}
	return resp, err
}

// limitedBody waits for the limiter before handing out each chunk.
type limitedBody struct {
	rc  io.ReadCloser
	lim *rate.Limiter
	ctx context.Context
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if burst := b.lim.Burst(); len(p) > burst {
		p = p[:burst]
	}
	n, err := b.rc.Read(p)
	if n > 0 {
		if werr := b.lim.WaitN(b.ctx, n); werr != nil && err == nil {
			err = werr
		}
	}
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }
