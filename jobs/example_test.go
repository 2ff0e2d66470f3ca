package jobs_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/bolt"
)

func Example() {
	dir, _ := os.MkdirTemp("", "jobs-example")
	defer os.RemoveAll(dir)
	store, err := bolt.Open(filepath.Join(dir, "meta.db"))
	if err != nil {
		panic(err)
	}
	defer store.Close()

	done := make(chan string, 1)
	r, err := jobs.NewRunner(store)
	if err != nil {
		panic(err)
	}
	r.Handle("greet", jobs.HandlerFunc(func(ctx context.Context, j meta.Job) error {
		done <- string(j.Payload)
		return nil
	}), jobs.KindOptions{MaxAttempts: 3, Backoff: time.Second})
	q, err := jobs.NewQueue(store, jobs.WithNotify(r.Wake))
	if err != nil {
		panic(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { defer close(stopped); _ = r.Run(ctx) }()
	if _, err := q.Enqueue(ctx, jobs.Spec{Kind: "greet", Payload: "hello"}); err != nil {
		panic(err)
	}
	fmt.Println(<-done)
	cancel()
	<-stopped
	// Output: "hello"
}
