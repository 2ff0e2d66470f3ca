package metacopy_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/bolt"
	"github.com/berthreg/berth/meta/metacopy"
)

// Copy a store into a new one and check the copy. Here both are bbolt
// files; a move to PostgreSQL opens the destination with
// postgres.Open(ctx, dsn) instead.
func Example() {
	dir, err := os.MkdirTemp("", "metacopy")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	src, err := bolt.Open(filepath.Join(dir, "old.db"))
	if err != nil {
		panic(err)
	}
	defer src.Close()
	err = src.Update(ctx, func(tx meta.Tx) error {
		if _, _, err := tx.Repositories().Ensure("library/app"); err != nil {
			return err
		}
		_, err := tx.Events().Append(meta.Event{Type: "CREATE_REPOSITORY", Repository: "library/app", Time: time.Now()})
		return err
	})
	if err != nil {
		panic(err)
	}

	dst, err := bolt.Open(filepath.Join(dir, "new.db"))
	if err != nil {
		panic(err)
	}
	defer dst.Close()
	counts, err := metacopy.Copy(ctx, dst, src)
	if err != nil {
		panic(err)
	}
	fmt.Println("copied:", counts)
	diffs, err := metacopy.Compare(ctx, src, dst)
	if err != nil {
		panic(err)
	}
	fmt.Println("differences:", len(diffs))
	// Output:
	// copied: events 1, repositories 1
	// differences: 0
}
