package replication

import (
	"io"
	"net/http"
	"sync/atomic"
)

// counter is a RoundTripper that adds the bytes of the request bodies it
// sends to n: what a task transferred to its destination.
type counter struct {
	rt http.RoundTripper
	n  *int64
}

func (c *counter) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody {
		r := req.Clone(req.Context())
		r.Body = &countedBody{rc: req.Body, n: c.n}
		req = r
	}
	return c.rt.RoundTrip(req)
}

type countedBody struct {
	rc io.ReadCloser
	n  *int64
}

func (b *countedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	atomic.AddInt64(b.n, int64(n))
	return n, err
}

func (b *countedBody) Close() error { return b.rc.Close() }
