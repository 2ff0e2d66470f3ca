package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
)

// largeTimeout bounds one large blob transfer.
const largeTimeout = 30 * time.Minute

// client is a minimal OCI distribution API client over one keep-alive
// transport.
type client struct {
	base    *url.URL
	hc      *http.Client
	timeout time.Duration
	// auth, when set, adds credentials once a challenge named the scheme.
	auth *authorizer
}

func newClient(base string, conc int, timeout time.Duration) (*client, error) {
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil {
		return nil, fmt.Errorf("bad -url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("bad -url %q: want http://host:port", base)
	}
	tr := &http.Transport{
		Proxy:                 nil, // loopback targets only; never through a proxy
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          0,
		MaxIdleConnsPerHost:   max(2*conc, 64),
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true,
		ResponseHeaderTimeout: 0,
		WriteBufferSize:       256 << 10,
		ReadBufferSize:        256 << 10,
	}
	return &client{base: u, hc: &http.Client{Transport: tr}, timeout: timeout}, nil
}

// statusError reports an unexpected HTTP status.
type statusError struct {
	method, url string
	got         int
	want        []int
	body        string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s %s: status %d, want %v: %s", e.method, e.url, e.got, e.want, e.body)
}

// do sends req and returns the response if its status is one of want;
// otherwise it consumes the body and returns a *statusError.
func (c *client) do(req *http.Request, want ...int) (*http.Response, error) {
	if c.auth != nil {
		if err := c.auth.authorize(req); err != nil {
			return nil, err
		}
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	for _, w := range want {
		if resp.StatusCode == w {
			return resp, nil
		}
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	drain(resp)
	return nil, &statusError{method: req.Method, url: req.URL.RequestURI(), got: resp.StatusCode, want: want,
		body: strings.TrimSpace(string(b))}
}

// drain reads what is left of the body so the connection can be reused.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
}

func (c *client) url(path string) string { return c.base.String() + path }

func (c *client) newRequest(ctx context.Context, method, rawURL string, body io.Reader, size int64) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, rawURL, body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.ContentLength = size
		req.Header.Set("Content-Type", "application/octet-stream")
		if size == 0 {
			req.Body = http.NoBody
		}
	}
	return req, nil
}

// ping checks that the base URL answers as an OCI registry. A 401 answer
// is accepted when the client has credentials: its challenge tells which
// scheme to use, and the ping is repeated with them.
func (c *client) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := c.newRequest(ctx, http.MethodGet, c.url("/v2/"), nil, 0)
	if err != nil {
		return err
	}
	want := []int{http.StatusOK}
	if c.auth != nil && c.auth.scheme == "" {
		want = append(want, http.StatusUnauthorized)
	}
	resp, err := c.do(req, want...)
	if err != nil {
		return fmt.Errorf("registry at %s not usable: %w", c.base, err)
	}
	drain(resp)
	if resp.StatusCode == http.StatusUnauthorized {
		if err := c.auth.learn(resp.Header); err != nil {
			return fmt.Errorf("registry at %s: %w", c.base, err)
		}
		return c.ping(ctx)
	}
	return nil
}

// createProject creates the project (the first path component of every
// repository this run pushes to) through the admin API with basic
// credentials; one that exists already is fine.
func (c *client) createProject(ctx context.Context, name string) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	body := fmt.Sprintf(`{"project_name":%q}`, name)
	req, err := c.newRequest(ctx, http.MethodPost, c.url("/api/v2.0/projects"), strings.NewReader(body), int64(len(body)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(c.auth.user, c.auth.pass)
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("create project %s: %w", name, err)
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	drain(resp)
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusConflict {
		return fmt.Errorf("create project %s: status %d: %s", name, resp.StatusCode, strings.TrimSpace(string(b)))
	}
	return nil
}

// waitReady polls GET /v2/ until it answers 200 or d elapses.
func (c *client) waitReady(ctx context.Context, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		err := c.ping(ctx)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("gave up after %s: %w", d, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// location resolves the Location header of resp against its request URL.
func location(resp *http.Response) (*url.URL, error) {
	loc := resp.Header.Get("Location")
	if loc == "" {
		return nil, fmt.Errorf("%s %s: status %d without Location", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode)
	}
	u, err := resp.Request.URL.Parse(loc)
	if err != nil {
		return nil, fmt.Errorf("bad Location %q: %w", loc, err)
	}
	return u, nil
}

// withQuery returns u with key=value appended to its query, leaving any
// opaque state the server put there untouched.
func withQuery(u *url.URL, key, value string) string {
	v := *u
	p := url.QueryEscape(key) + "=" + url.QueryEscape(value)
	if v.RawQuery == "" {
		v.RawQuery = p
	} else {
		v.RawQuery += "&" + p
	}
	return v.String()
}

// checkDigestHeader verifies Docker-Content-Digest when the server sent it.
func checkDigestHeader(resp *http.Response, want digest.Digest) error {
	if got := resp.Header.Get("Docker-Content-Digest"); got != "" && got != want.String() {
		return fmt.Errorf("%s %s: Docker-Content-Digest %s, want %s", resp.Request.Method, resp.Request.URL.Path, got, want)
	}
	return nil
}

// startUpload opens an upload session and returns its location.
func (c *client) startUpload(ctx context.Context, repo string) (*url.URL, error) {
	req, err := c.newRequest(ctx, http.MethodPost, c.url("/v2/"+repo+"/blobs/uploads/"), nil, 0)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(req, http.StatusAccepted)
	if err != nil {
		return nil, err
	}
	drain(resp)
	return location(resp)
}

// finishUpload sends the closing PUT ?digest= with body (which may be empty)
// and expects 201 Created.
func (c *client) finishUpload(ctx context.Context, loc *url.URL, d digest.Digest, body io.Reader, size int64) error {
	if body == nil {
		body, size = http.NoBody, 0
	}
	req, err := c.newRequest(ctx, http.MethodPut, withQuery(loc, "digest", d.String()), body, size)
	if err != nil {
		return err
	}
	resp, err := c.do(req, http.StatusCreated)
	if err != nil {
		return err
	}
	drain(resp)
	return checkDigestHeader(resp, d)
}

// pushMonolithic uploads a blob with POST then one PUT carrying the body.
func (c *client) pushMonolithic(ctx context.Context, repo string, d digest.Digest, body io.Reader, size int64) error {
	loc, err := c.startUpload(ctx, repo)
	if err != nil {
		return err
	}
	return c.finishUpload(ctx, loc, d, body, size)
}

// pushChunked uploads a blob with POST, one PATCH per chunk (with
// Content-Range) and a closing empty PUT ?digest=. part returns the reader
// for bytes [off, off+n).
func (c *client) pushChunked(ctx context.Context, repo string, d digest.Digest, size, chunk int64,
	part func(off, n int64) io.Reader) (chunks int, err error) {
	loc, err := c.startUpload(ctx, repo)
	if err != nil {
		return 0, err
	}
	for off := int64(0); off < size; off += chunk {
		n := min(chunk, size-off)
		req, err := c.newRequest(ctx, http.MethodPatch, loc.String(), part(off, n), n)
		if err != nil {
			return chunks, err
		}
		req.Header.Set("Content-Range", fmt.Sprintf("%d-%d", off, off+n-1))
		resp, err := c.do(req, http.StatusAccepted)
		if err != nil {
			return chunks, fmt.Errorf("chunk at %d: %w", off, err)
		}
		drain(resp)
		if r := resp.Header.Get("Range"); r != "" && r != fmt.Sprintf("0-%d", off+n-1) {
			return chunks, fmt.Errorf("chunk at %d: server Range %q, want 0-%d", off, r, off+n-1)
		}
		if loc, err = location(resp); err != nil {
			return chunks, err
		}
		chunks++
	}
	return chunks, c.finishUpload(ctx, loc, d, nil, 0)
}

// pushSmall uploads data with a single POST ?digest= carrying the body. A
// registry that does not support single-request uploads answers 202 with a
// session; the blob is then completed with PUT, as the spec requires of a
// client, and fellBack is true.
func (c *client) pushSmall(ctx context.Context, repo string, d digest.Digest, data []byte) (fellBack bool, err error) {
	u := c.url("/v2/" + repo + "/blobs/uploads/?digest=" + url.QueryEscape(d.String()))
	req, err := c.newRequest(ctx, http.MethodPost, u, bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return false, err
	}
	resp, err := c.do(req, http.StatusCreated, http.StatusAccepted)
	if err != nil {
		return false, err
	}
	drain(resp)
	if resp.StatusCode == http.StatusCreated {
		return false, checkDigestHeader(resp, d)
	}
	loc, err := location(resp)
	if err != nil {
		return true, err
	}
	return true, c.finishUpload(ctx, loc, d, bytes.NewReader(data), int64(len(data)))
}

// mountOrPush links blob d from repository from into repo with a cross-repo
// mount; if the registry opens a session instead (202), it uploads data.
func (c *client) mountOrPush(ctx context.Context, repo, from string, d digest.Digest, data []byte) error {
	u := c.url("/v2/" + repo + "/blobs/uploads/?mount=" + url.QueryEscape(d.String()) + "&from=" + url.QueryEscape(from))
	req, err := c.newRequest(ctx, http.MethodPost, u, nil, 0)
	if err != nil {
		return err
	}
	resp, err := c.do(req, http.StatusCreated, http.StatusAccepted)
	if err != nil {
		return err
	}
	drain(resp)
	if resp.StatusCode == http.StatusCreated {
		return checkDigestHeader(resp, d)
	}
	loc, err := location(resp)
	if err != nil {
		return err
	}
	return c.finishUpload(ctx, loc, d, bytes.NewReader(data), int64(len(data)))
}

// putManifest stores a manifest under ref and expects 201 Created.
func (c *client) putManifest(ctx context.Context, repo, ref, mediaType string, body []byte) error {
	req, err := c.newRequest(ctx, http.MethodPut, c.url("/v2/"+repo+"/manifests/"+ref), bytes.NewReader(body), int64(len(body)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", mediaType)
	resp, err := c.do(req, http.StatusCreated)
	if err != nil {
		return err
	}
	drain(resp)
	return checkDigestHeader(resp, digest.FromBytes(body))
}

// manifestAccept is what a multi-platform-aware client sends when pulling.
const manifestAccept = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, " +
	"application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json"

// getManifest fetches ref and checks the body against want.
func (c *client) getManifest(ctx context.Context, repo, ref string, want digest.Digest) error {
	req, err := c.newRequest(ctx, http.MethodGet, c.url("/v2/"+repo+"/manifests/"+ref), nil, 0)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", manifestAccept)
	resp, err := c.do(req, http.StatusOK)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	drain(resp)
	if err != nil {
		return fmt.Errorf("GET manifest %s:%s: %w", repo, ref, err)
	}
	if got := digest.FromBytes(body); got != want {
		return fmt.Errorf("GET manifest %s:%s: body digest %s, want %s", repo, ref, got, want)
	}
	return checkDigestHeader(resp, want)
}

// pullBlob streams blob d and returns the byte count. With verify it hashes
// the body and checks it against d.
func (c *client) pullBlob(ctx context.Context, repo string, d digest.Digest, verify bool) (int64, error) {
	req, err := c.newRequest(ctx, http.MethodGet, c.url("/v2/"+repo+"/blobs/"+d.String()), nil, 0)
	if err != nil {
		return 0, err
	}
	resp, err := c.do(req, http.StatusOK)
	if err != nil {
		return 0, err
	}
	defer drain(resp)
	var dst io.Writer = io.Discard
	h := sha256.New()
	if verify {
		dst = h
	}
	// Hide ReaderFrom/WriterTo so CopyBuffer reads in 1 MiB steps.
	n, err := io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{resp.Body}, make([]byte, 1<<20))
	if err != nil {
		return n, fmt.Errorf("GET blob %s after %d bytes: %w", d, n, err)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return n, fmt.Errorf("GET blob %s: read %d bytes, Content-Length %d", d, n, resp.ContentLength)
	}
	if verify {
		if got := digest.NewDigest(digest.SHA256, h); got != d {
			return n, fmt.Errorf("GET blob: body digest %s, want %s", got, d)
		}
	}
	return n, checkDigestHeader(resp, d)
}

// nextLink returns the target of a rel="next" Link header, if any.
func nextLink(h http.Header) (string, bool) {
	for _, v := range h.Values("Link") {
		for _, part := range strings.Split(v, ",") {
			part = strings.TrimSpace(part)
			i, j := strings.Index(part, "<"), strings.Index(part, ">")
			if i != 0 || j < 0 {
				continue
			}
			params := strings.ReplaceAll(part[j+1:], " ", "")
			if strings.Contains(params, `rel="next"`) || strings.Contains(params, "rel=next") {
				return part[1:j], true
			}
		}
	}
	return "", false
}

// listPage is the union of the tag list and catalog response bodies.
type listPage struct {
	Tags         []string `json:"tags"`
	Repositories []string `json:"repositories"`
}

// fetchList GETs one listing page and returns its entries and next link.
func (c *client) fetchList(ctx context.Context, rawURL string) (entries []string, next string, err error) {
	req, err := c.newRequest(ctx, http.MethodGet, rawURL, nil, 0)
	if err != nil {
		return nil, "", err
	}
	resp, err := c.do(req, http.StatusOK)
	if err != nil {
		return nil, "", err
	}
	defer drain(resp)
	var p listPage
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		return nil, "", fmt.Errorf("GET %s: decode: %w", req.URL.RequestURI(), err)
	}
	entries = append(p.Tags, p.Repositories...)
	if link, ok := nextLink(resp.Header); ok {
		u, err := req.URL.Parse(link)
		if err != nil {
			return nil, "", fmt.Errorf("GET %s: bad Link %q: %w", req.URL.RequestURI(), link, err)
		}
		next = u.String()
	}
	return entries, next, nil
}

// walkList follows Link headers from first until the listing ends, and
// returns every entry and the number of pages fetched.
func (c *client) walkList(ctx context.Context, first string) ([]string, int, error) {
	var all []string
	pages := 0
	for u := first; u != ""; {
		entries, next, err := c.fetchList(ctx, u)
		if err != nil {
			return all, pages, err
		}
		pages++
		if next != "" && len(entries) == 0 {
			// An empty page with a next link can only loop; a trailing empty
			// page without one is legal and ends the walk.
			return all, pages, fmt.Errorf("GET %s: empty page with a next link", u)
		}
		if len(all) > 0 && len(entries) > 0 && entries[0] <= all[len(all)-1] {
			return all, pages, fmt.Errorf("GET %s: page starts at %q, not after %q", u, entries[0], all[len(all)-1])
		}
		all = append(all, entries...)
		if pages > 1_000_000 {
			return all, pages, errors.New("listing did not end after 1e6 pages")
		}
		u = next
	}
	return all, pages, nil
}

// listURL builds a tags/list or _catalog URL with an optional n.
func (c *client) listURL(path string, n int) string {
	if n <= 0 {
		return c.url(path)
	}
	return c.url(path + "?n=" + strconv.Itoa(n))
}
