package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/server"
	"github.com/berthreg/berth/storage/memory"
)

// A host mounts Berth in its own mux, next to its own routes, and signs
// people in with its own accounts: here one CI user with a fixed token,
// a system administrator.
func Example() {
	dir, err := os.MkdirTemp("", "berth-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	ciUser := auth.AuthenticatorFunc(func(_ context.Context, name, secret string) (auth.Principal, error) {
		if name == "ci" && secret == "ci-token" {
			return auth.Principal{Name: "ci", Kind: auth.User, Admin: true}, nil
		}
		return auth.Principal{}, auth.ErrBadCredentials
	})
	cfg := server.DefaultConfig()
	cfg.DataDir = dir
	cfg.Auth.AdminPassword = "admin-password"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := server.New(ctx, cfg, server.WithAuthenticator(ciUser), server.WithStorage(memory.New()))
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	go func() { _ = srv.Run(ctx) }()

	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "the host's own page") })
	for _, path := range []string{"/v2/", "/service/token", "/api/v2.0/", "/c/"} {
		mux.Handle(path, srv.Handler())
	}
	host := httptest.NewServer(mux)
	defer host.Close()

	do := func(method, path, body, user, secret string) {
		req, _ := http.NewRequest(method, host.URL+path, strings.NewReader(body))
		if user != "" {
			req.SetBasicAuth(user, secret)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		fmt.Printf("%s %s as %q: %d\n", method, path, user, res.StatusCode)
	}
	do("GET", "/hello", "", "", "")
	do("GET", "/v2/", "", "", "")
	do("GET", "/v2/", "", "ci", "wrong")
	do("GET", "/v2/", "", "ci", "ci-token")
	do("POST", "/api/v2.0/projects", `{"project_name":"team"}`, "ci", "ci-token")
	do("GET", "/api/v2.0/projects/team", "", "ci", "ci-token")
	// Output:
	// GET /hello as "": 200
	// GET /v2/ as "": 401
	// GET /v2/ as "ci": 401
	// GET /v2/ as "ci": 200
	// POST /api/v2.0/projects as "ci": 201
	// GET /api/v2.0/projects/team as "ci": 200
}
