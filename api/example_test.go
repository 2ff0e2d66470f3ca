package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/berthreg/berth/api"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/meta/bolt"
)

// Example serves the admin API and creates a project as a user.
func Example() {
	dir, _ := os.MkdirTemp("", "api-example")
	defer os.RemoveAll(dir)
	store, _ := bolt.Open(filepath.Join(dir, "meta.db"))
	defer store.Close()
	m, _ := accounts.New(context.Background(), store)
	_ = m.SetUser(context.Background(), "alice", "alice-password", false)

	srv := httptest.NewServer(api.New(m, store, m, nil))
	defer srv.Close()
	req, _ := http.NewRequest("POST", srv.URL+api.Prefix+"/projects", strings.NewReader(`{"project_name":"team"}`))
	req.SetBasicAuth("alice", "alice-password")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("Location"))
	// Output: 201 /api/v2.0/projects/team
}
