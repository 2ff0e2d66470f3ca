package registry_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/berthreg/berth/meta/bolt"
	"github.com/berthreg/berth/registry"
	"github.com/berthreg/berth/storage/memory"
	"github.com/opencontainers/go-digest"
)

// Serve the distribution API from memory storage and a bbolt file, with a
// hook that sees every completed push, then push and fetch one blob.
func Example() {
	dir, _ := os.MkdirTemp("", "registry-example-")
	defer os.RemoveAll(dir)
	store, err := bolt.Open(filepath.Join(dir, "meta.db"))
	if err != nil {
		panic(err)
	}
	defer store.Close()
	h, err := registry.New(memory.New(), store,
		registry.WithHooks(registry.Hooks{
			AfterPush: func(_ context.Context, ev *registry.Event) {
				fmt.Println("pushed", ev.Action, ev.Repository, ev.Size, "bytes")
			},
		}),
	)
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	blob := []byte("hello, registry")
	d := digest.FromBytes(blob)
	res, err := http.Post(srv.URL+"/v2/demo/app/blobs/uploads/?digest="+d.String(), "application/octet-stream", bytes.NewReader(blob))
	if err != nil {
		panic(err)
	}
	res.Body.Close()
	fmt.Println(res.StatusCode, res.Header.Get("Location"))

	res, err = http.Get(srv.URL + "/v2/demo/app/blobs/" + d.String())
	if err != nil {
		panic(err)
	}
	res.Body.Close()
	fmt.Println(res.StatusCode, res.Header.Get("Docker-Content-Digest") == d.String())
	// Output:
	// pushed push-blob demo/app 15 bytes
	// 201 /v2/demo/app/blobs/sha256:d4ceac3b8b759b17b86618c4165bb23a506c157c81a034147cf8e3510691aa1c
	// 200 true
}
