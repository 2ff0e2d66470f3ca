package immutable_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/immutable"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/bolt"
)

// Release tags ("v*") of a project cannot move once pushed; "latest" can.
func Example() {
	dir, _ := os.MkdirTemp("", "immutable-example")
	defer os.RemoveAll(dir)
	raw, err := bolt.Open(filepath.Join(dir, "meta.db"))
	if err != nil {
		panic(err)
	}
	defer raw.Close()
	ctx := context.Background()
	if err := raw.Update(ctx, func(tx meta.Tx) error {
		return accounts.Projects.In(tx).Put(accounts.Project{Name: "team"})
	}); err != nil {
		panic(err)
	}
	svc, err := immutable.New(raw)
	if err != nil {
		panic(err)
	}
	if _, err := svc.Create(ctx, "team", immutable.Rule{
		Repositories: immutable.Selector{Decoration: immutable.Matches, Pattern: "**"},
		Tags:         immutable.Selector{Decoration: immutable.Matches, Pattern: "v*"},
	}); err != nil {
		panic(err)
	}
	store := svc.Store()
	push := func(tag, content string) error {
		m := meta.Manifest{Digest: digest.FromString(content), Size: int64(len(content))}
		return store.Update(ctx, func(tx meta.Tx) error {
			if _, _, err := tx.Repositories().Ensure("team/app"); err != nil {
				return err
			}
			if err := tx.Manifests().Put("team/app", m); err != nil {
				return err
			}
			return tx.Tags().Put("team/app", tag, m.Digest)
		})
	}
	fmt.Println(push("v1", "first"))
	fmt.Println(push("latest", "first"))
	err = push("v1", "second")
	fmt.Println(errors.Is(err, immutable.ErrImmutable), err)
	fmt.Println(push("latest", "second"))
	// Output:
	// <nil>
	// <nil>
	// true immutable: tag team/app:v1 is immutable and cannot be moved
	// <nil>
}
