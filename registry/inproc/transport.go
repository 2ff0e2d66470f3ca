package inproc

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"sync"
)

// Host is the host name under which a transport from New reaches its
// handler: references to this registry that replication and scanning
// make ("berth.local/team/app") name it, and only requests for it stay in
// the process.
const Host = "berth.local"

// Option configures a transport from New.
type Option func(*handlerTransport)

// WithContext prepares each in-process request's context with decorate,
// for instance to name the principal the caller acts as (a context value
// no client can set). Without it the request's own context is used.
func WithContext(decorate func(context.Context) context.Context) Option {
	return func(t *handlerTransport) { t.decorate = decorate }
}

// New returns an http.RoundTripper that serves requests for Host with h in
// this process, streaming bodies both ways: a registry's replication and
// scanning reach the registry they run in without a socket, and without
// the outbound address checks that guard their calls to other hosts.
//
// When h redirects a read to another host (a storage driver's presigned
// object-store URL), the transport fetches that URL over the network with
// http.DefaultTransport and answers with what it gets: the redirect is
// the registry's own, so clients' guards against redirects to private
// addresses need not see it. Requests for other hosts go over the network
// too.
func New(h http.Handler, opts ...Option) http.RoundTripper {
	t := &handlerTransport{h: h}
	for _, o := range opts {
		o(t)
	}
	return t
}

// handlerTransport is the RoundTripper New returns.
type handlerTransport struct {
	h        http.Handler
	decorate func(context.Context) context.Context
}

// RoundTrip implements http.RoundTripper.
func (t *handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != Host {
		return http.DefaultTransport.RoundTrip(req)
	}
	ctx := req.Context()
	if t.decorate != nil {
		ctx = t.decorate(ctx)
	}
	r := req.Clone(ctx)
	if r.Body == nil {
		r.Body = http.NoBody
	}
	r.RequestURI = r.URL.RequestURI()
	if r.RemoteAddr == "" {
		r.RemoteAddr = "127.0.0.1:0"
	}
	pr, pw := io.Pipe()
	w := &pipeWriter{header: http.Header{}, body: pw, ready: make(chan struct{})}
	go func() {
		defer func() {
			w.WriteHeader(http.StatusOK) // a handler that wrote nothing
			if p := recover(); p != nil {
				if p != http.ErrAbortHandler {
					panic(p)
				}
				// The handler cut its response short, as a server
				// would drop the connection: the body ends in an error.
				_ = pw.CloseWithError(io.ErrUnexpectedEOF)
				return
			}
			_ = pw.Close()
		}()
		t.h.ServeHTTP(w, r)
	}()
	select {
	case <-w.ready:
	case <-ctx.Done():
		_ = pr.CloseWithError(ctx.Err())
		return nil, ctx.Err()
	}
	resp := &http.Response{
		Status: http.StatusText(w.status), StatusCode: w.status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: w.sent, Body: pr, ContentLength: -1, Request: req,
	}
	if n, err := strconv.ParseInt(w.sent.Get("Content-Length"), 10, 64); err == nil {
		resp.ContentLength = n
	}
	if req.Method == http.MethodHead {
		resp.Body = http.NoBody
		_ = pr.Close()
	}
	if to := storageRedirect(req, resp); to != nil {
		_ = resp.Body.Close()
		return http.DefaultTransport.RoundTrip(to)
	}
	return resp, nil
}

// storageRedirect is the request that follows resp, a redirect of a read
// to another host, or nil. It carries the original's Range but not its
// credentials: the URL is presigned.
func storageRedirect(req *http.Request, resp *http.Response) *http.Request {
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	default:
		return nil
	}
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		return nil
	}
	loc, err := req.URL.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Host == Host || loc.Host == "" {
		return nil
	}
	to, err := http.NewRequestWithContext(req.Context(), req.Method, loc.String(), nil)
	if err != nil {
		return nil
	}
	if rg := req.Header.Get("Range"); rg != "" {
		to.Header.Set("Range", rg)
	}
	return to
}

// pipeWriter is the http.ResponseWriter of an in-process request: the
// status and headers are handed over at the first write, the body streams
// through a pipe.
type pipeWriter struct {
	header http.Header
	sent   http.Header
	status int
	body   *io.PipeWriter
	once   sync.Once
	ready  chan struct{}
}

func (w *pipeWriter) Header() http.Header { return w.header }

func (w *pipeWriter) WriteHeader(status int) {
	w.once.Do(func() {
		w.status, w.sent = status, w.header.Clone()
		close(w.ready)
	})
}

func (w *pipeWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}

// Flush implements http.Flusher (the pipe has no buffer to flush).
func (w *pipeWriter) Flush() { w.WriteHeader(http.StatusOK) }
