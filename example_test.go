package berth_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/berthreg/berth/meta/bolt"
	"github.com/berthreg/berth/registry"
	"github.com/berthreg/berth/storage/fs"
)

// Assemble a registry from a storage driver and a metadata store and serve it.
func Example() {
	dir, _ := os.MkdirTemp("", "berth-example-")
	defer os.RemoveAll(dir)
	driver, err := fs.New(filepath.Join(dir, "storage"))
	if err != nil {
		panic(err)
	}
	store, err := bolt.Open(filepath.Join(dir, "meta.db"))
	if err != nil {
		panic(err)
	}
	defer store.Close()
	h, err := registry.New(driver, store)
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	res, err := http.Get(srv.URL + "/v2/")
	if err != nil {
		panic(err)
	}
	res.Body.Close()
	fmt.Println(res.StatusCode, res.Header.Get("Docker-Distribution-API-Version"))
	// Output: 200 registry/2.0
}
