package label_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"
	"golang.org/x/crypto/bcrypt"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/label"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/bolt"
)

// A system administrator makes a global label, a project administrator
// a label of her project; she attaches both to an artifact, and an
// artifact listing reads them back with Of and finds the artifacts
// carrying one with ArtifactsWith.
func Example() {
	dir, _ := os.MkdirTemp("", "label-example")
	defer os.RemoveAll(dir)
	store, err := bolt.Open(filepath.Join(dir, "meta.db"))
	if err != nil {
		panic(err)
	}
	defer store.Close()
	ctx := context.Background()
	m, err := accounts.New(ctx, store, accounts.WithHashCost(bcrypt.MinCost), accounts.WithProjectCleanup(label.DeleteProject))
	if err != nil {
		panic(err)
	}
	admin := auth.Principal{Name: "admin", Kind: auth.User, Admin: true}
	alice := auth.Principal{Name: "alice", Kind: auth.User}
	if err := m.CreateProject(ctx, alice, "team", false); err != nil { // alice administers team
		panic(err)
	}
	img := digest.FromString("an image")
	if err := store.Update(ctx, func(tx meta.Tx) error {
		if _, _, err := tx.Repositories().Ensure("team/app"); err != nil {
			return err
		}
		if err := tx.Manifests().Put("team/app", meta.Manifest{Digest: img, Size: 8}); err != nil {
			return err
		}
		return tx.Tags().Put("team/app", "v1", img)
	}); err != nil {
		panic(err)
	}

	labels, err := label.New(store, m.Authorizer(), m)
	if err != nil {
		panic(err)
	}
	prod, _ := labels.Create(ctx, admin, label.Label{Name: "prod", Color: "#2E7D32", Scope: label.Global})
	qa, _ := labels.Create(ctx, alice, label.Label{Name: "qa-passed", Scope: label.ProjectScope, Project: "team"})
	_, err = labels.Create(ctx, alice, label.Label{Name: "release", Scope: label.Global})
	fmt.Println(err)
	for _, id := range []int64{prod.ID, qa.ID} {
		if _, err := labels.Attach(ctx, alice, "team/app", "v1", id); err != nil {
			panic(err)
		}
	}
	_, err = labels.Attach(ctx, alice, "team/app", "v1", prod.ID)
	fmt.Println(errors.Is(err, label.ErrExists))

	_ = store.View(ctx, func(tx meta.Tx) error {
		of, _ := label.Of(tx, "team/app", []digest.Digest{img})
		for _, l := range of[img] {
			fmt.Println(l.ID, l.Name, l.Scope)
		}
		with, _ := label.ArtifactsWith(tx, "team/app", qa.ID)
		fmt.Println(with[0] == img)
		return nil
	})
	// Output:
	// label: forbidden: alice may not manage global labels
	// true
	// 1 prod g
	// 2 qa-passed p
	// true
}
