package artifact_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/artifact"
	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/bolt"
)

// Browse a repository's artifacts as a project member sees them: an
// index is listed once, with its children as references.
func Example() {
	dir, _ := os.MkdirTemp("", "artifact-example")
	defer os.RemoveAll(dir)
	store, err := bolt.Open(filepath.Join(dir, "meta.db"))
	if err != nil {
		panic(err)
	}
	defer store.Close()
	ctx := context.Background()
	m, err := accounts.New(ctx, store)
	if err != nil {
		panic(err)
	}
	admin := auth.Principal{Name: "admin", Kind: auth.User, Admin: true}
	if err := m.CreateProject(ctx, admin, "team", false); err != nil {
		panic(err)
	}
	// What the registry records when an image and a two-platform index
	// are pushed.
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	img := meta.Manifest{Digest: digest.FromString("image"), MediaType: "application/vnd.oci.image.manifest.v1+json", PushedAt: at}
	amd := meta.Manifest{Digest: digest.FromString("amd64"), MediaType: "application/vnd.oci.image.manifest.v1+json", PushedAt: at}
	arm := meta.Manifest{Digest: digest.FromString("arm64"), MediaType: "application/vnd.oci.image.manifest.v1+json", PushedAt: at}
	idx := meta.Manifest{Digest: digest.FromString("index"), MediaType: "application/vnd.oci.image.index.v1+json", PushedAt: at.Add(time.Hour),
		Manifests: []meta.Descriptor{{Digest: amd.Digest}, {Digest: arm.Digest}}}
	err = store.Update(ctx, func(tx meta.Tx) error {
		if _, _, err := tx.Repositories().Ensure("team/app"); err != nil {
			return err
		}
		for _, rec := range []meta.Manifest{img, amd, arm, idx} {
			if err := tx.Manifests().Put("team/app", rec); err != nil {
				return err
			}
		}
		if err := tx.Tags().Put("team/app", "v1", img.Digest); err != nil {
			return err
		}
		return tx.Tags().Put("team/app", "v2", idx.Digest)
	})
	if err != nil {
		panic(err)
	}

	svc, err := artifact.New(store, m.Authorizer(), m)
	if err != nil {
		panic(err)
	}
	list, total, err := svc.ListArtifacts(ctx, admin, "team/app", artifact.ArtifactQuery{Limit: 10, With: artifact.With{Tags: true}})
	if err != nil {
		panic(err)
	}
	fmt.Println(total, "artifacts, newest first:")
	for _, a := range list {
		fmt.Println(a.Tags[0].Name, len(a.References), "references")
	}
	// Output:
	// 2 artifacts, newest first:
	// v2 2 references
	// v1 0 references
}
