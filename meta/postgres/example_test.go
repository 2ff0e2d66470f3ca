package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/postgres"
)

// Open a store on a PostgreSQL database, record a manifest and tag it in
// one transaction, then read the tag back. (Compiled, not run: it needs a
// server; scripts/postgres.sh starts one.)
func Example() {
	ctx := context.Background()
	s, err := postgres.Open(ctx, "postgres://berth@127.0.0.1:5432/berth?sslmode=disable",
		postgres.WithMaxConns(20), postgres.WithStatementTimeout(30*time.Second))
	if err != nil {
		log.Fatal(err) // errors.Is(err, meta.ErrUnavailable) when the server cannot be reached
	}
	defer s.Close()
	d := digest.FromString(`{"schemaVersion":2}`)
	// Update may run its function again after a serialization failure:
	// it only touches the transaction.
	err = s.Update(ctx, func(tx meta.Tx) error {
		if _, _, err := tx.Repositories().Ensure("demo/app"); err != nil {
			return err
		}
		m := meta.Manifest{Digest: d, MediaType: "application/vnd.oci.image.index.v1+json", Size: 19, PushedAt: time.Now()}
		if err := tx.Manifests().Put("demo/app", m); err != nil {
			return err
		}
		return tx.Tags().Put("demo/app", "v1", d)
	})
	if errors.Is(err, meta.ErrUnavailable) {
		log.Fatal("database unavailable, try later: ", err) // an HTTP handler answers 503
	} else if err != nil {
		log.Fatal(err)
	}
	err = s.View(ctx, func(tx meta.Tx) error {
		got, err := tx.Tags().Get("demo/app", "v1")
		fmt.Println(got == d, err)
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
}
