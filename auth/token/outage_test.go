package token

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/meta"
)

// downAuthorizer fails every decision as a store that cannot be reached.
type downAuthorizer struct{}

func (downAuthorizer) Allowed(context.Context, auth.Principal, auth.Resource, []string) ([]string, error) {
	return nil, fmt.Errorf("loading policy: %w", meta.ErrUnavailable)
}

// TestServiceBackendUnavailable: an authenticator or an authorizer that
// cannot reach its store is 503 with a Retry-After, not a 401 (bad
// credentials) nor a 500, and does not count as a failed login.
func TestServiceBackendUnavailable(t *testing.T) {
	iss, err := NewIssuer(ecKey(t), "berth-token", 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	down := auth.AuthenticatorFunc(func(context.Context, string, string) (auth.Principal, error) {
		return auth.Principal{}, fmt.Errorf("users: %w", meta.ErrUnavailable)
	})
	limiter := testLimiter(t, auth.WithMaxFailures(1), auth.WithWindow(time.Minute))
	for name, s := range map[string]*Service{
		"authenticator": must(NewService(iss, "berth-registry", down, grants{}, WithLimiter(limiter))),
		"authorizer":    must(NewService(iss, "berth-registry", accounts{"alice": "secret"}, downAuthorizer{})),
	} {
		for range 3 { // more than the limiter allows failures
			w, _ := get(t, s, "alice", "secret", "repository:proj/app:pull")
			if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), "UNAVAILABLE") {
				t.Fatalf("%s unavailable: %d (Retry-After %q) %s, want 503 UNAVAILABLE with a Retry-After",
					name, w.Code, w.Header().Get("Retry-After"), w.Body)
			}
		}
	}
	w, _ := get(t, must(NewService(iss, "berth-registry", accounts{}, downAuthorizer{})), "", "", "repository:public/app:pull")
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("anonymous, authorizer unavailable: %d %s, want 503", w.Code, w.Body)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
