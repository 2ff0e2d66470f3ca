package events_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/bolt"
)

// A host program reacting to pushes: its consumer keeps its place in the
// log across restarts.
func Example() {
	dir, _ := os.MkdirTemp("", "events-example")
	defer os.RemoveAll(dir)
	store, err := bolt.Open(filepath.Join(dir, "meta.db"))
	if err != nil {
		panic(err)
	}
	defer store.Close()
	// The registry's Recorder appends events like this one in the push's
	// transaction.
	_ = store.Update(context.Background(), func(tx meta.Tx) error {
		_, err := tx.Events().Append(meta.Event{Type: events.PushArtifact, Repository: "team/app", Tag: "v1"})
		return err
	})

	c, err := events.NewConsumer(store, "redeployer", events.Func(func(ctx context.Context, batch []meta.Event) error {
		for _, e := range batch {
			fmt.Println(e.Type, e.Repository+":"+e.Tag)
		}
		return nil
	}))
	if err != nil {
		panic(err)
	}
	n, err := c.Step(context.Background()) // Run loops over Step
	fmt.Println(n, err)
	// Output:
	// PUSH_ARTIFACT team/app:v1
	// 1 <nil>
}
