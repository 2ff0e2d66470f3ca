package settings_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/bolt"
	"github.com/berthreg/berth/settings"
)

func Example() {
	dir, _ := os.MkdirTemp("", "settings")
	defer os.RemoveAll(dir)
	store, err := bolt.Open(filepath.Join(dir, "meta.db"))
	if err != nil {
		panic(err)
	}
	defer store.Close()
	ctx := context.Background()

	type retention struct{ Days int }
	_ = store.Update(ctx, func(tx meta.Tx) error {
		return settings.Save(tx, "audit.retention", retention{Days: 30}, time.Now())
	})
	_ = store.View(ctx, func(tx meta.Tx) error {
		var r retention
		found, err := settings.Load(tx, "audit.retention", &r)
		fmt.Println(found, r.Days, err)
		found, err = settings.Load(tx, "gc.schedule", &r)
		fmt.Println(found, err)
		return nil
	})
	// Output:
	// true 30 <nil>
	// false <nil>
}
