package quota_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/bolt"
	"github.com/berthreg/berth/quota"
)

// A project limited to 1000 bytes takes a 600-byte image, refuses a
// second one, and takes it once the first is deleted.
func Example() {
	dir, _ := os.MkdirTemp("", "quota-example")
	defer os.RemoveAll(dir)
	raw, err := bolt.Open(filepath.Join(dir, "meta.db"))
	if err != nil {
		panic(err)
	}
	defer raw.Close()
	q, err := quota.New(raw)
	if err != nil {
		panic(err)
	}
	ctx, store := context.Background(), q.Store()
	if _, err := q.SetLimit(ctx, "team", 1000); err != nil {
		panic(err)
	}
	push := func(name string) error {
		layer := meta.Blob{Digest: digest.FromString("layer " + name), Size: 500}
		m := meta.Manifest{Digest: digest.FromString(name), Size: 100,
			Layers: []meta.Descriptor{{Digest: layer.Digest, Size: layer.Size}}}
		return store.Update(ctx, func(tx meta.Tx) error {
			if _, _, err := tx.Repositories().Ensure("team/app"); err != nil {
				return err
			}
			if err := tx.Blobs().Link("team/app", layer); err != nil {
				return err
			}
			return tx.Manifests().Put("team/app", m)
		})
	}
	fmt.Println(push("v1"))
	err = push("v2")
	fmt.Println(errors.Is(err, quota.ErrExceeded))
	fmt.Println(err)
	if err := store.Update(ctx, func(tx meta.Tx) error {
		return tx.Manifests().Delete("team/app", digest.FromString("v1"))
	}); err != nil {
		panic(err)
	}
	fmt.Println(push("v2"))
	got, _ := q.Get(ctx, "team")
	fmt.Println(got.Used, "of", got.Limit)
	// Output:
	// <nil>
	// true
	// quota: project team: storing 600 more bytes would take its usage of 600 bytes over its storage limit of 1000 bytes
	// <nil>
	// 600 of 1000
}
