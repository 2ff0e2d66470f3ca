package dragonfly

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"
)

// The manager's REST paths (manager/router/router.go of
// d7y.io/dragonfly/v2 v2.3.0).
const (
	// healthPath answers 200 while the manager runs, without credentials.
	healthPath = "/healthy"
	// jobsPath is the open API's jobs: POST creates one, GET lists them,
	// GET jobsPath/<id> reads one. It takes "Authorization: Bearer
	// <personal access token>" with the job scope.
	jobsPath = "/oapi/v1/jobs"
)

// maxBody bounds what is read of an answer: a job, with the state of
// each of its tasks (one per layer and scheduler cluster), or an error.
const maxBody = 4 << 20

// httpError is a non-2xx answer: its status and the manager's message.
type httpError struct {
	method, url string
	status      int
	message     string
}

// Error says what the manager answered.
func (e *httpError) Error() string {
	if e.message == "" {
		return fmt.Sprintf("%s %s: HTTP %d", e.method, e.url, e.status)
	}
	return fmt.Sprintf("%s %s: HTTP %d: %s", e.method, e.url, e.status, e.message)
}

// Unwrap sorts the status into the package's errors: 401 and 403 are
// ErrUnauthorized, 404 ErrUnknownJob (only Job reads a single job), the
// rest ErrUnexpectedAnswer.
func (e *httpError) Unwrap() error {
	switch e.status {
	case http.StatusUnauthorized, http.StatusForbidden:
		return ErrUnauthorized
	case http.StatusNotFound:
		return ErrUnknownJob
	}
	return ErrUnexpectedAnswer
}

// do sends a request to path (with a JSON body when in is not nil) with
// the endpoint's credentials and returns the bounded body of a 2xx
// answer; any other status is an *httpError carrying the manager's
// message.
func (p *provider) do(ctx context.Context, method, path string, in any) ([]byte, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.base+path, body)
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	p.e.Authorize(req)
	resp, err := p.e.HTTPClient().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the answer: %w", method, req.URL.Redacted(), err)
	}
	if len(b) > maxBody {
		return nil, fmt.Errorf("%w: %s %s: an answer over %d bytes", ErrUnexpectedAnswer, method, req.URL.Redacted(), maxBody)
	}
	if resp.StatusCode/100 != 2 {
		return nil, &httpError{method: method, url: req.URL.Redacted(), status: resp.StatusCode, message: messageOf(b)}
	}
	return b, nil
}

// messageOf is the manager's explanation in an error answer: its error
// middleware's {"message": ...} (manager/middlewares/error.go), a
// handler's {"errors": ...} (manager/handlers/job.go), else the start of
// the body.
func messageOf(b []byte) string {
	var m struct {
		Message string `json:"message"`
		Errors  any    `json:"errors"`
		Error   string `json:"error"`
	}
	if json.Unmarshal(b, &m) == nil {
		var parts []string
		for _, s := range []string{m.Message, m.Error} {
			if s != "" {
				parts = append(parts, s)
			}
		}
		switch v := m.Errors.(type) {
		case string:
			parts = append(parts, v)
		case nil:
		default:
			if e, err := json.Marshal(v); err == nil {
				parts = append(parts, string(e))
			}
		}
		if len(parts) > 0 {
			return clip(strings.Join(parts, ": "))
		}
	}
	return clip(strings.TrimSpace(string(b)))
}

// clip shortens s to what a job's message shows.
func clip(s string) string {
	const limit = 1024
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
