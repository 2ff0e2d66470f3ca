package replication

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"sync"
)

// HandlerTransport is a RoundTripper that serves requests with h in this
// process, streaming bodies both ways: the Endpoint of the registry the
// engine runs in, reached without a socket. decorate, when set, prepares
// each request's context (to name the principal the engine acts as).
func HandlerTransport(h http.Handler, decorate func(context.Context) context.Context) http.RoundTripper {
	return &handlerTransport{h: h, decorate: decorate}
}

type handlerTransport struct {
	h        http.Handler
	decorate func(context.Context) context.Context
}

func (t *handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
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
	return resp, nil
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
