package replication_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta/bolt"
	"github.com/berthreg/berth/replication"
)

func ExampleFilter() {
	f := replication.Filter{Repositories: []string{"team/**"}, Tags: []string{"v*"}, ExcludeTags: []string{"*-rc*"}}
	fmt.Println(f.Repository("team/app"), f.Tag("v1.2"), f.Tag("v1.3-rc1"), f.Repository("other/app"))
	// Output: true true false false
}

// The Service validates and stores endpoints and policies for any
// caller; refusals name the field, and passwords never come back.
func ExampleService() {
	dir, err := os.MkdirTemp("", "berth-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	store, err := bolt.Open(filepath.Join(dir, "meta.db"))
	if err != nil {
		panic(err)
	}
	defer store.Close()
	queue, err := jobs.NewQueue(store)
	if err != nil {
		panic(err)
	}
	eng, err := replication.NewEngine(store, queue)
	if err != nil {
		panic(err)
	}
	svc, err := replication.NewService(store, eng)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()

	_, err = svc.CreateRegistry(ctx, replication.Registry{Name: "dc2", URL: "ftp://dc2.example"})
	var fe *replication.FieldError
	fmt.Println(errors.Is(err, replication.ErrInvalid), errors.As(err, &fe) && fe.Field == "url")

	dc2, _ := svc.CreateRegistry(ctx, replication.Registry{Name: "dc2", URL: "https://dc2.example", Username: "robot", Password: "s3cret"})
	fmt.Printf("%s %q %v\n", dc2.Username, dc2.Password, dc2.HasPassword)

	_, err = svc.CreatePolicy(ctx, replication.PolicyRecord{Name: "to-dc2", Destination: "dc2", Trigger: replication.TriggerManual, Enabled: true})
	fmt.Println(err, errors.Is(svc.DeleteRegistry(ctx, "dc2"), replication.ErrInUse))
	// Output:
	// true true
	// robot "" true
	// <nil> true
}
