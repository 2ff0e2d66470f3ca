package oss

import (
	"io"
	"net/http"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
)

// emptyBodies makes the client send requests with an empty body with
// "Content-Length: 0". The SDK always hands net/http a body reader, and
// net/http sends a PUT or POST whose reader has a zero length without
// Content-Length, chunked, which a server may refuse: an S3 server answers
// a zero-byte PutObject sent that way with 411 MissingContentLength.
func emptyBodies(o *oss.Options) {
	o.HttpClient = emptyBodyClient{next: o.HttpClient}
}

// emptyBodyClient is the oss.HTTPClient of emptyBodies.
type emptyBodyClient struct {
	next oss.HTTPClient
}

// Do implements oss.HTTPClient.
func (c emptyBodyClient) Do(req *http.Request) (*http.Response, error) {
	if req.ContentLength == 0 && req.Body != nil && req.Body != http.NoBody && bodyEmpty(req.Body) {
		req.Body = http.NoBody
	}
	return c.next.Do(req)
}

// bodyEmpty reports whether body, seekable, has no bytes left; a body it
// cannot measure counts as not empty. The SDK's body wrapper seeks when the
// reader it wraps does (every body this package sends is an in-memory
// reader), and says whether it does with IsSeekable.
func bodyEmpty(body io.Reader) bool {
	s, ok := body.(interface {
		io.Seeker
		IsSeekable() bool
	})
	if !ok || !s.IsSeekable() {
		return false
	}
	cur, err := s.Seek(0, io.SeekCurrent)
	if err != nil {
		return false
	}
	end, err := s.Seek(0, io.SeekEnd)
	if err != nil {
		return false
	}
	if end != cur {
		// Not empty: put the reader back where it was (an in-memory
		// reader cannot fail to).
		_, _ = s.Seek(cur, io.SeekStart)
		return false
	}
	return true
}
