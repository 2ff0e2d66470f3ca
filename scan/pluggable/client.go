package pluggable

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
	"time"

	"github.com/berthreg/berth/scan"
)

// maxReport bounds a report's size.
const maxReport = 256 << 20

// Client is a scan.Scanner that reaches a Harbor scanner adapter (Trivy's,
// or any other speaking the Pluggable Scanner API v1.2). Make one with
// NewClient.
type Client struct {
	url           string
	authorization string
	apiKey        string
	httpClient    *http.Client
}

// ClientOption configures a Client made by NewClient.
type ClientOption func(*Client)

// WithAuthorization makes the client send header h as Authorization with
// every request.
func WithAuthorization(h string) ClientOption { return func(c *Client) { c.authorization = h } }

// WithAPIKey makes the client send key as X-ScannerAdapter-API-Key
// (Harbor's third way of authenticating to an adapter).
func WithAPIKey(key string) ClientOption { return func(c *Client) { c.apiKey = key } }

// WithHTTPClient sets the client to use (default http.DefaultClient). A
// host that takes the URL from its users passes one whose transport keeps
// off internal addresses (a netguard.Guard's), as scan/engine does.
func WithHTTPClient(hc *http.Client) ClientOption { return func(c *Client) { c.httpClient = hc } }

// NewClient returns the client of the adapter at baseURL (without
// /api/v1).
func NewClient(baseURL string, opts ...ClientOption) (*Client, error) {
	if baseURL == "" {
		return nil, errors.New("scanner adapter: NewClient: empty URL")
	}
	c := &Client{url: baseURL}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

func (c *Client) http() *http.Client {
	if c.httpClient != nil {
		return c.httpClient
	}
	return http.DefaultClient
}

// do sends a request and returns the response; the caller closes it.
func (c *Client) do(ctx context.Context, method, path string, body []byte, hdr map[string]string) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.url, "/")+"/api/v1"+path, rd)
	if err != nil {
		return nil, err
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if c.authorization != "" {
		req.Header.Set("Authorization", c.authorization)
	}
	if c.apiKey != "" {
		req.Header.Set("X-ScannerAdapter-API-Key", c.apiKey)
	}
	return c.http().Do(req)
}

// apiError turns an error answer into an error wrapping the scan package's
// sentinel for its status.
func apiError(res *http.Response) error {
	var e struct {
		Error struct{ Message string } `json:"error"`
	}
	b, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	msg := strings.TrimSpace(string(b))
	if json.Unmarshal(b, &e) == nil && e.Error.Message != "" {
		msg = e.Error.Message
	}
	err := fmt.Errorf("scanner adapter: %s: %s", res.Status, msg)
	switch res.StatusCode {
	case http.StatusNotFound:
		return fmt.Errorf("%w: %w", scan.ErrUnknownScan, err)
	case http.StatusNotImplemented:
		return fmt.Errorf("%w: %w", scan.ErrUnsupported, err)
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return fmt.Errorf("%w: %w", scan.ErrInvalid, err)
	}
	return err
}

// Metadata implements scan.Scanner.
func (c *Client) Metadata(ctx context.Context) (scan.Metadata, error) {
	var m scan.Metadata
	res, err := c.do(ctx, http.MethodGet, "/metadata", nil, map[string]string{"Accept": mimeMetadata + ", application/vnd.scanner.adapter.metadata+json; version=1.0"})
	if err != nil {
		return m, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return m, apiError(res)
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&m); err != nil {
		return m, fmt.Errorf("scanner adapter: metadata: %w", err)
	}
	return m, nil
}

// Scan implements scan.Scanner.
func (c *Client) Scan(ctx context.Context, req scan.Request) (string, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return "", err
	}
	res, err := c.do(ctx, http.MethodPost, "/scan", body, map[string]string{"Content-Type": mimeScanRequest, "Accept": mimeScanResponse})
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusAccepted && res.StatusCode != http.StatusOK {
		return "", apiError(res)
	}
	var out struct {
		ID string `json:"id"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 64<<10)).Decode(&out); err != nil || out.ID == "" {
		return "", fmt.Errorf("scanner adapter: scan response without an id (%v)", err)
	}
	return out.ID, nil
}

// Report implements scan.Scanner: one poll. A 302 becomes a *scan.NotReady
// with the adapter's Refresh-After.
func (c *Client) Report(ctx context.Context, id, mimeType, sbomType string) ([]byte, error) {
	path := "/scan/" + url.PathEscape(id) + "/report"
	if sbomType != "" {
		path += "?sbom_media_type=" + url.QueryEscape(sbomType)
	}
	client := *c.http()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	cc := *c
	cc.httpClient = &client
	res, err := cc.do(ctx, http.MethodGet, path, nil, map[string]string{"Accept": mimeType})
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	switch res.StatusCode {
	case http.StatusOK:
		return io.ReadAll(io.LimitReader(res.Body, maxReport))
	case http.StatusFound:
		after := 5 * time.Second
		if n, err := strconv.Atoi(res.Header.Get("Refresh-After")); err == nil && n > 0 {
			after = time.Duration(n) * time.Second
		}
		return nil, &scan.NotReady{RetryAfter: after}
	}
	return nil, apiError(res)
}
