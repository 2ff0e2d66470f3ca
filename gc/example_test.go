package gc_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/gc"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/bolt"
	"github.com/berthreg/berth/storage/memory"
)

// A dry run: what would a collection delete?
func Example() {
	dir, _ := os.MkdirTemp("", "gc-example")
	defer os.RemoveAll(dir)
	store, err := bolt.Open(filepath.Join(dir, "meta.db"))
	if err != nil {
		panic(err)
	}
	defer store.Close()
	week := time.Now().Add(-7 * 24 * time.Hour)
	_ = store.Update(context.Background(), func(tx meta.Tx) error {
		_, _, _ = tx.Repositories().Ensure("team/app")
		// A layer uploaded a week ago that no manifest ever used.
		return tx.Blobs().Link("team/app", meta.Blob{Digest: digest.FromString("abandoned"), Size: 1 << 20, CreatedAt: week})
	})
	rep, err := gc.Run(context.Background(), store, memory.New(), gc.Options{DryRun: true, DeleteUntagged: true})
	fmt.Println(len(rep.Plan.Blobs), rep.FreedBytes, err)
	// Output: 1 1048576 <nil>
}
