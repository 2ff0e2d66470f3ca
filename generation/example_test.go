package generation_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/berthreg/berth/generation"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/bolt"
)

// Example keeps an in-memory copy of a setting fresh: the writer bumps
// "greeting" in the transaction that changes it, and the watcher (one per
// instance, polled by hand here, by Run in a server) reloads the copy
// when the counter moves.
func Example() {
	dir, _ := os.MkdirTemp("", "generation")
	defer os.RemoveAll(dir)
	store, err := bolt.Open(filepath.Join(dir, "meta.db"))
	if err != nil {
		panic(err)
	}
	defer store.Close()
	ctx := context.Background()

	set := func(s string) error {
		return store.Update(ctx, func(tx meta.Tx) error {
			if err := tx.Records("greetings").Put("current", []byte(s)); err != nil {
				return err
			}
			return generation.Bump(tx, "greeting")
		})
	}
	_ = set("hello")

	var cached string // what this instance holds in memory
	w, _ := generation.NewWatcher(store)
	_ = w.Watch("greeting", func(ctx context.Context) error {
		return store.View(ctx, func(tx meta.Tx) error {
			b, err := tx.Records("greetings").Get("current")
			cached = string(b)
			return err
		})
	})
	_ = w.Poll(ctx) // at start
	fmt.Println(cached)

	_ = set("bonjour") // on any instance sharing the store
	_ = w.Poll(ctx)    // Run polls every second
	seen, _ := w.Seen("greeting")
	fmt.Println(cached, seen)
	// Output:
	// hello
	// bonjour 2
}
