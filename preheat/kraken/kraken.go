package kraken

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/berthreg/berth/preheat"
)

// Vendor is the vendor name Harbor gives Kraken instances ("kraken"),
// under which a host registers New with the preheat service.
const Vendor = "kraken"

// The paths Kraken's proxy serves on its server port.
const (
	// healthPath answers 200 "OK" while the proxy runs.
	healthPath = "/health"
	// notificationsPath takes Docker registry notifications and preheats
	// the images their push events name.
	notificationsPath = "/registry/notifications"
)

// maxBody bounds what is read of a response body: Kraken's answers are a
// line ("OK") or an error message.
const maxBody = 64 << 10

// ErrUnknownJob is returned by Job for an id this provider did not
// return from Preheat (another Provider's, or one forgotten: see Job).
var ErrUnknownJob = errors.New("kraken: unknown job")

// provider is the Kraken preheat.Provider of one instance.
type provider struct {
	e    preheat.Endpoint
	base string // e.URL without a trailing slash
	jobs *jobs
}

// New returns the Provider for the Kraken proxy at e.URL: the base URL of
// the proxy's server port (the one its --server-port flag opens; the
// preheat API is not on its registry port). It refuses, with an error
// wrapping preheat.ErrBadEndpoint, a URL that is not absolute http or
// https with a host, and credentials missing for e.AuthMode (Kraken
// itself checks none: a reverse proxy in front of it may).
func New(e preheat.Endpoint) (preheat.Provider, error) {
	u, err := url.Parse(e.URL)
	if err != nil {
		return nil, fmt.Errorf("%w: kraken: %v", preheat.ErrBadEndpoint, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%w: kraken: the URL must be http or https, got %q", preheat.ErrBadEndpoint, e.URL)
	}
	if u.Host == "" || u.Opaque != "" {
		return nil, fmt.Errorf("%w: kraken: the URL has no host: %q", preheat.ErrBadEndpoint, e.URL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%w: kraken: the URL must have no query or fragment: %q", preheat.ErrBadEndpoint, e.URL)
	}
	if err := e.CheckAuth(); err != nil {
		return nil, fmt.Errorf("kraken: %w", err)
	}
	return &provider{e: e, base: strings.TrimSuffix(e.URL, "/"), jobs: newJobs(maxJobs)}, nil
}

// Health asks the proxy's /health: any 2xx is healthy, as in Harbor's
// driver.
func (p *provider) Health(ctx context.Context) error {
	_, err := p.do(ctx, http.MethodGet, healthPath, "", nil)
	if err != nil {
		return fmt.Errorf("kraken: health: %w", err)
	}
	return nil
}

// do sends a request to path with the endpoint's credentials and returns
// the (bounded) body of a 2xx answer; any other status is an error
// quoting the start of the body.
func (p *provider) do(ctx context.Context, method, path, contentType string, body io.Reader) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, p.base+path, body)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	p.e.Authorize(req)
	resp, err := p.e.HTTPClient().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the answer: %w", method, req.URL.Redacted(), err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody)) // let the connection be reused
	if resp.StatusCode/100 != 2 {
		msg := strings.TrimSpace(string(b))
		if len(msg) > 512 {
			msg = msg[:512] + "…"
		}
		return nil, fmt.Errorf("%s %s: %s: %s", method, req.URL.Redacted(), resp.Status, msg)
	}
	return b, nil
}
