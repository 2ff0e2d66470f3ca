package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// apiPrefix is where the admin API's resources live (api.Prefix; not
// imported, so that the portal depends on the API's HTTP shape only).
const apiPrefix = "/api/v2.0"

// maxAPIBody bounds an answer the portal reads into memory (a
// vulnerability report is the largest); downloads stream instead.
const maxAPIBody = 32 << 20

// APIError is an answer of the admin API other than a success: its
// status and the message of its first error, shown to the person as it
// is.
type APIError struct {
	// Status is the HTTP status.
	Status int
	// Code is the API's error code (BAD_REQUEST, FORBIDDEN, …).
	Code string
	// Message is the API's message.
	Message string
}

// Error returns the API's message.
func (e *APIError) Error() string {
	if e.Message == "" {
		return http.StatusText(e.Status)
	}
	return e.Message
}

// statusOf returns the HTTP status an error maps to: an APIError's own,
// else 500.
func statusOf(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return http.StatusInternalServerError
}

// apiClient calls the admin API in process as the person behind a
// browser request: their session cookie goes with every call, and an
// unsafe call carries X-Requested-With, which the portal adds only after
// its own CSRF check of the browser's request.
type apiClient struct {
	h http.Handler
}

// call is one call of the API.
type call struct {
	method string
	path   string     // under apiPrefix, or absolute when it starts with /c/
	query  url.Values // may be nil
	body   any        // JSON-encoded when not nil (url.Values: a form)
}

// answer is what the API answered to a successful call.
type answer struct {
	header http.Header
	body   []byte
}

// total returns the answer's X-Total-Count (-1 when absent).
func (a answer) total() int {
	n, err := strconv.Atoi(a.header.Get("X-Total-Count"))
	if err != nil {
		return -1
	}
	return n
}

// do runs c for the browser request r and decodes a JSON answer into out
// (when out is not nil).
func (c apiClient) do(r *http.Request, cl call, out any) (answer, error) {
	req, err := c.request(r.Context(), r, cl)
	if err != nil {
		return answer{}, err
	}
	rec := &recorder{header: http.Header{}, limit: maxAPIBody}
	c.h.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	a := answer{header: rec.header, body: rec.buf.Bytes()}
	if rec.overflow {
		return a, &APIError{Status: http.StatusBadGateway, Message: "the answer is too large to show"}
	}
	if rec.status >= 300 {
		return a, decodeError(rec.status, a.body)
	}
	if out != nil && len(a.body) > 0 {
		if err := json.Unmarshal(a.body, out); err != nil {
			return a, fmt.Errorf("ui: decoding %s %s: %w", cl.method, cl.path, err)
		}
	}
	return a, nil
}

// stream runs a GET for the browser request r and copies the answer to
// w as it comes (downloads), with the API's content type and disposition.
func (c apiClient) stream(w http.ResponseWriter, r *http.Request, cl call) {
	req, err := c.request(r.Context(), r, cl)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.h.ServeHTTP(&passThrough{w: w}, req)
}

// request builds the in-process request of cl for r.
func (c apiClient) request(ctx context.Context, r *http.Request, cl call) (*http.Request, error) {
	path := cl.path
	if !strings.HasPrefix(path, "/c/") {
		path = apiPrefix + path
	}
	u := "http://" + hostOf(r) + path
	if len(cl.query) > 0 {
		u += "?" + cl.query.Encode()
	}
	var body io.Reader
	contentType := ""
	switch b := cl.body.(type) {
	case nil:
	case url.Values:
		body, contentType = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	default:
		js, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		body, contentType = bytes.NewReader(js), "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, u, body)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	if ck := r.Header.Values("Cookie"); len(ck) > 0 {
		req.Header["Cookie"] = ck
	}
	if cl.method != http.MethodGet && cl.method != http.MethodHead {
		req.Header.Set("X-Requested-With", "berth-portal")
	}
	req.RemoteAddr = r.RemoteAddr
	req.Host = r.Host
	return req, nil
}

// hostOf returns the request's host, or a placeholder.
func hostOf(r *http.Request) string {
	if r.Host != "" {
		return r.Host
	}
	return "localhost"
}

// decodeError reads the API's {"errors":[{"code","message"}]}.
func decodeError(status int, body []byte) error {
	var e struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	ae := &APIError{Status: status}
	if json.Unmarshal(body, &e) == nil && len(e.Errors) > 0 {
		ae.Code, ae.Message = e.Errors[0].Code, e.Errors[0].Message
	}
	return ae
}

// recorder is an http.ResponseWriter that keeps an answer in memory, up
// to limit bytes.
type recorder struct {
	header   http.Header
	status   int
	buf      bytes.Buffer
	limit    int
	overflow bool
}

// Header returns the answer's headers.
func (r *recorder) Header() http.Header { return r.header }

// WriteHeader keeps the first status.
func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

// Write keeps p, up to the limit.
func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if r.buf.Len()+len(p) > r.limit {
		r.overflow = true
		return 0, errors.New("ui: answer too large")
	}
	return r.buf.Write(p)
}

// passThrough forwards an API answer to the browser, keeping only the
// headers a download needs.
type passThrough struct {
	w      http.ResponseWriter
	header http.Header
	wrote  bool
}

// Header returns the API's headers (only some reach the browser).
func (p *passThrough) Header() http.Header {
	if p.header == nil {
		p.header = http.Header{}
	}
	return p.header
}

// WriteHeader sends the status with a download's headers, once.
func (p *passThrough) WriteHeader(status int) {
	if p.wrote {
		return
	}
	p.wrote = true
	for _, k := range []string{"Content-Type", "Content-Disposition", "Content-Length"} {
		if v := p.Header().Get(k); v != "" {
			p.w.Header().Set(k, v)
		}
	}
	p.w.WriteHeader(status)
}

// Write sends b to the browser.
func (p *passThrough) Write(b []byte) (int, error) {
	p.WriteHeader(http.StatusOK)
	return p.w.Write(b)
}
