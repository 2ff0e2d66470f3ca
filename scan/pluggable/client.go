package pluggable

import (
	"bytes"
	"context"
	"encoding/json"
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
// or any other speaking the Pluggable Scanner API v1.2) at URL.
type Client struct {
	// URL is the adapter's base URL (without /api/v1).
	URL string
	// Authorization, when set, is sent with every request.
	Authorization string
	// APIKey, when set, is sent as X-ScannerAdapter-API-Key (Harbor's
	// third way of authenticating to an adapter).
	APIKey string
	// HTTP is the client to use (nil: http.DefaultClient). A host that
	// takes URL from its users passes one whose transport keeps off
	// internal addresses (a netguard.Guard's), as scan/engine does.
	HTTP *http.Client
}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// do sends a request and returns the response; the caller closes it.
func (c *Client) do(ctx context.Context, method, path string, body []byte, hdr map[string]string) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.URL, "/")+"/api/v1"+path, rd)
	if err != nil {
		return nil, err
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if c.Authorization != "" {
		req.Header.Set("Authorization", c.Authorization)
	}
	if c.APIKey != "" {
		req.Header.Set("X-ScannerAdapter-API-Key", c.APIKey)
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
	cc.HTTP = &client
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
