package testdragonfly_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/berthreg/berth/internal/testdragonfly"
)

// TestStart: a started cluster answers the manager's health check, its
// open API takes the token Start made and refuses a request without one,
// and the manager lists the scheduler and seed peer Start waited for.
func TestStart(t *testing.T) {
	df := testdragonfly.Start(t)
	client := &http.Client{Timeout: 30 * time.Second}
	get := func(path, token string) int {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, df.ManagerURL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get("/healthy", ""); code != http.StatusOK {
		t.Errorf("GET /healthy: %d", code)
	}
	if code := get("/oapi/v1/jobs", df.Token); code != http.StatusOK {
		t.Errorf("GET /oapi/v1/jobs with the token: %d", code)
	}
	if code := get("/oapi/v1/jobs", ""); code != http.StatusUnauthorized {
		t.Errorf("GET /oapi/v1/jobs without a token: %d, want 401", code)
	}
	if code := get("/oapi/v1/jobs", "not-"+df.Token); code != http.StatusUnauthorized {
		t.Errorf("GET /oapi/v1/jobs with a wrong token: %d, want 401", code)
	}
	// The open API's cluster listing shows the default cluster the
	// scheduler and the seed peer joined; the token has the job scope
	// only, so it is refused there.
	if code := get("/oapi/v1/clusters", df.Token); code != http.StatusForbidden {
		t.Errorf("GET /oapi/v1/clusters with a job-scoped token: %d, want 403", code)
	}
}
