package meta_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/bolt"
	"github.com/opencontainers/go-digest"
)

// Record a manifest and tag it in one transaction, then read the tag back.
func Example() {
	dir, _ := os.MkdirTemp("", "meta-example-")
	defer os.RemoveAll(dir)
	var store meta.Store
	store, err := bolt.Open(filepath.Join(dir, "meta.db"))
	if err != nil {
		panic(err)
	}
	defer store.Close()
	ctx := context.Background()
	d := digest.FromString(`{"schemaVersion":2}`)
	err = store.Update(ctx, func(tx meta.Tx) error {
		if _, _, err := tx.Repositories().Ensure("demo/app"); err != nil {
			return err
		}
		m := meta.Manifest{Digest: d, MediaType: "application/vnd.oci.image.index.v1+json", Size: 19, PushedAt: time.Now()}
		if err := tx.Manifests().Put("demo/app", m); err != nil {
			return err
		}
		return tx.Tags().Put("demo/app", "v1", d)
	})
	if err != nil {
		panic(err)
	}
	_ = store.View(ctx, func(tx meta.Tx) error {
		got, err := tx.Tags().Get("demo/app", "v1")
		fmt.Println(got == d, err)
		tags, _ := tx.Tags().List("demo/app", "", 10)
		fmt.Println(tags)
		return nil
	})
	// Output:
	// true <nil>
	// [v1]
}
