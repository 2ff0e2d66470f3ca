package token

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/berthreg/berth/auth"
)

// countingAuthorizer counts the decisions it is asked for.
type countingAuthorizer struct {
	inner auth.Authorizer
	calls atomic.Int64
}

func (c *countingAuthorizer) Allowed(ctx context.Context, p auth.Principal, r auth.Resource, actions []string) ([]string, error) {
	c.calls.Add(1)
	return c.inner.Allowed(ctx, p, r, actions)
}

// TestServiceCapsScopes: an anonymous request with 30,000 scopes is
// refused with the token error shape, before the authorizer is asked for
// more than the cap of decisions; one at the cap is served.
func TestServiceCapsScopes(t *testing.T) {
	var ca *countingAuthorizer
	s, v := newServiceWrapped(t, func(inner auth.Authorizer) auth.Authorizer {
		ca = &countingAuthorizer{inner: inner}
		return ca
	})

	// 30,000 distinct scopes in one parameter, and spread over many: both
	// are refused. (The query is well under net/http's 1 MB header cap.)
	var many []string
	for i := range 30000 {
		many = append(many, fmt.Sprintf("repository:p/r%d:pull", i))
	}
	for _, scopes := range [][]string{{strings.Join(many, " ")}, many} {
		w, body := get(t, s, "", "", scopes...)
		if w.Code != http.StatusBadRequest || body["token"] != nil || !strings.Contains(w.Body.String(), `"errors"`) {
			t.Fatalf("30,000 scopes: %d %.300s", w.Code, w.Body)
		}
	}
	// 1,000 scopes fit the query cap; the scope cap refuses them.
	for _, scopes := range [][]string{{strings.Join(many[:1000], " ")}, many[:1000]} {
		w, body := get(t, s, "", "", scopes...)
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "invalid_scope") || body["token"] != nil {
			t.Fatalf("1,000 scopes: %d %.300s", w.Code, w.Body)
		}
	}
	if n := ca.calls.Load(); n > int64(auth.MaxScopes) {
		t.Fatalf("the authorizer was asked %d times for refused requests (cap %d)", n, auth.MaxScopes)
	}

	// Many duplicates of few resources fit: they merge.
	ca.calls.Store(0)
	dups := make([]string, 0, 2000)
	for i := range 2000 {
		dups = append(dups, fmt.Sprintf("repository:public/app:pull repository:p/r%d:pull", i%(auth.MaxScopes-1)))
	}
	w, _ := get(t, s, "", "", strings.Join(dups[:200], " "))
	if w.Code != http.StatusOK {
		t.Fatalf("duplicates of %d resources: %d %.300s", auth.MaxScopes, w.Code, w.Body)
	}

	// Exactly the cap of distinct resources is served, one decision each.
	ca.calls.Store(0)
	w, body := get(t, s, "", "", many[:auth.MaxScopes]...)
	if w.Code != http.StatusOK {
		t.Fatalf("%d scopes: %d %.300s", auth.MaxScopes, w.Code, w.Body)
	}
	accessOf(t, v, body)
	if n := ca.calls.Load(); n != int64(auth.MaxScopes) {
		t.Fatalf("%d decisions for %d scopes", n, auth.MaxScopes)
	}
	w, _ = get(t, s, "", "", many[:auth.MaxScopes+1]...)
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "invalid_scope") {
		t.Fatalf("%d scopes: %d %.300s", auth.MaxScopes+1, w.Code, w.Body)
	}
}

// TestServiceCapsQueryLength: a token request whose query is longer than
// the cap is refused before it is parsed.
func TestServiceCapsQueryLength(t *testing.T) {
	s, _ := newService(t)
	q := url.Values{"service": {"berth-registry"}, "scope": {"repository:public/app:pull"}, "pad": {strings.Repeat("x", maxQueryBytes)}}
	r := httptest.NewRequest(http.MethodGet, "/service/token?"+q.Encode(), nil)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "invalid_request") {
		t.Fatalf("long query: %d %.300s", w.Code, w.Body)
	}
}

// TestIssuerCapsTokenSize: a token larger than MaxTokenBytes is not
// issued.
func TestIssuerCapsTokenSize(t *testing.T) {
	s, _ := newService(t)
	var access []auth.Access
	for i := range 5000 {
		access = append(access, auth.Access{Type: "repository", Name: fmt.Sprintf("p/r%d", i), Actions: []string{"pull"}})
	}
	if tok, err := s.issuer.Issue("", "berth-registry", access); err == nil {
		t.Fatalf("a %d-byte token was issued (cap %d)", len(tok.Token), MaxTokenBytes)
	}
}
