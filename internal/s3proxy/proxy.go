package s3proxy

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
)

// Operation names Classify returns.
const (
	OpPutObject      = "PutObject"
	OpUploadPart     = "UploadPart"
	OpUploadPartCopy = "UploadPartCopy"
	OpCopyObject     = "CopyObject"
	OpGetObject      = "GetObject"
	OpHeadObject     = "HeadObject"
	OpList           = "List"
	OpDelete         = "Delete"
	OpPost           = "Post" // create/complete multipart, multi-object delete
)

// Classify names the S3 operation of r (path-style requests).
func Classify(r *http.Request) string {
	q := r.URL.Query()
	copySrc := r.Header.Get("X-Amz-Copy-Source") != "" || r.Header.Get("X-Oss-Copy-Source") != ""
	switch r.Method {
	case http.MethodPut:
		switch {
		case q.Has("partNumber") && copySrc:
			return OpUploadPartCopy
		case q.Has("partNumber"):
			return OpUploadPart
		case copySrc:
			return OpCopyObject
		}
		return OpPutObject
	case http.MethodGet:
		if q.Has("list-type") || q.Has("uploads") || q.Has("prefix") || q.Has("delimiter") {
			return OpList
		}
		return OpGetObject
	case http.MethodHead:
		return OpHeadObject
	case http.MethodDelete:
		return OpDelete
	}
	return OpPost
}

// Fault is an error to answer a request with instead of forwarding it.
type Fault struct {
	// Status is the HTTP status (503, 500, 429, …).
	Status int
	// Code is the S3 error code in the XML body ("SlowDown", …).
	Code string
}

// Counts is the traffic of one operation.
type Counts struct {
	// Requests forwarded (injected faults are not counted here).
	Requests int64
	// Faults injected.
	Faults int64
	// Sent is the request body bytes forwarded to the server.
	Sent int64
	// Received is the response body bytes returned to the client.
	Received int64
}

// Proxy is a running proxy. Its methods are safe for concurrent use.
type Proxy struct {
	// URL is the proxy's base URL, to use as the S3 endpoint.
	URL    string
	srv    *httptest.Server
	mu     sync.Mutex
	idle   *sync.Cond // on mu: signalled when inflight drops to 0
	counts map[string]*Counts
	// inflight counts requests being served; their traffic is added when
	// they end, which can be after the client has read the last byte.
	inflight int
	fault    atomic.Pointer[func(op string, r *http.Request) *Fault]
}

// Start starts a proxy to the server at target ("http://127.0.0.1:9000").
func Start(target string) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("s3proxy: bad target %q", target)
	}
	p := &Proxy{counts: make(map[string]*Counts)}
	p.idle = sync.NewCond(&p.mu)
	rp := httputil.NewSingleHostReverseProxy(u)
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.begin()
		defer p.end()
		op := Classify(r)
		if f := p.fault.Load(); f != nil {
			if fault := (*f)(op, r); fault != nil {
				p.add(op, func(c *Counts) { c.Faults++ })
				_, _ = io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(fault.Status)
				fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>injected by s3proxy</Message></Error>`, fault.Code)
				return
			}
		}
		body := &countingReader{r: r.Body}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = body
		}
		cw := &countingWriter{ResponseWriter: w}
		rp.ServeHTTP(cw, r)
		p.add(op, func(c *Counts) {
			c.Requests++
			c.Sent += body.n.Load()
			c.Received += cw.n
		})
	}))
	p.URL = p.srv.URL
	return p, nil
}

// Close stops the proxy.
func (p *Proxy) Close() { p.srv.Close() }

// SetFault installs f to decide, for every request, whether to inject a
// fault (nil forwards it). SetFault(nil) stops injecting.
func (p *Proxy) SetFault(f func(op string, r *http.Request) *Fault) {
	if f == nil {
		p.fault.Store(nil)
		return
	}
	p.fault.Store(&f)
}

func (p *Proxy) begin() {
	p.mu.Lock()
	p.inflight++
	p.mu.Unlock()
}

func (p *Proxy) end() {
	p.mu.Lock()
	p.inflight--
	if p.inflight == 0 {
		p.idle.Broadcast()
	}
	p.mu.Unlock()
}

// quiet waits, with p.mu held, until no request is being served, so that
// the traffic of every request a client has seen answered is counted.
func (p *Proxy) quiet() {
	for p.inflight > 0 {
		p.idle.Wait()
	}
}

// Counts returns a copy of the traffic so far, by operation, once the
// requests being served have ended.
func (p *Proxy) Counts() map[string]Counts {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.quiet()
	out := make(map[string]Counts, len(p.counts))
	for k, v := range p.counts {
		out[k] = *v
	}
	return out
}

// Reset forgets the traffic counted so far, once the requests being
// served have ended.
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.quiet()
	p.counts = make(map[string]*Counts)
}

func (p *Proxy) add(op string, f func(*Counts)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.counts[op]
	if c == nil {
		c = &Counts{}
		p.counts[op] = c
	}
	f(c)
}

type countingReader struct {
	r io.ReadCloser
	n atomic.Int64 // the transport may still read after the response
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingReader) Close() error { return c.r.Close() }

type countingWriter struct {
	http.ResponseWriter
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.n += int64(n)
	return n, err
}

// Flush lets the reverse proxy flush streamed responses.
func (c *countingWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
