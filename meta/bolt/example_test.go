package bolt_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/bolt"
)

func Example() {
	dir, err := os.MkdirTemp("", "berth-meta")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	s, err := bolt.Open(filepath.Join(dir, "meta.db"))
	if err != nil {
		panic(err)
	}
	defer s.Close()
	ctx := context.Background()

	// Record a manifest and tag it, all in one transaction.
	m := meta.Manifest{
		Digest:    digest.FromString("manifest bytes"),
		MediaType: "application/vnd.oci.image.manifest.v1+json",
		Size:      14,
		PushedAt:  time.Now(),
	}
	err = s.Update(ctx, func(tx meta.Tx) error {
		if _, _, err := tx.Repositories().Ensure("library/alpine"); err != nil {
			return err
		}
		if err := tx.Manifests().Put("library/alpine", m); err != nil {
			return err
		}
		return tx.Tags().Put("library/alpine", "3.21", m.Digest)
	})
	if err != nil {
		panic(err)
	}

	// Resolve the tag the way a pull does.
	err = s.View(ctx, func(tx meta.Tx) error {
		d, err := tx.Tags().Get("library/alpine", "3.21")
		if err != nil {
			return err
		}
		got, err := tx.Manifests().Get("library/alpine", d)
		if err != nil {
			return err
		}
		fmt.Println(got.MediaType, got.Size)
		return nil
	})
	if err != nil {
		panic(err)
	}
	// Output: application/vnd.oci.image.manifest.v1+json 14
}
