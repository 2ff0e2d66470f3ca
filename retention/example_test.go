package retention_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/immutable"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/bolt"
	"github.com/berthreg/berth/retention"
)

// Keeping the three most recently pushed of five tags: the plan a dry
// run reports.
func Example() {
	dir, _ := os.MkdirTemp("", "retention-example")
	defer os.RemoveAll(dir)
	store, err := bolt.Open(filepath.Join(dir, "meta.db"))
	if err != nil {
		panic(err)
	}
	defer store.Close()
	ctx := context.Background()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := store.Update(ctx, func(tx meta.Tx) error {
		if err := accounts.Projects.In(tx).Put(accounts.Project{Name: "team"}); err != nil {
			return err
		}
		if _, _, err := tx.Repositories().Ensure("team/app"); err != nil {
			return err
		}
		for i := 1; i <= 5; i++ {
			m := meta.Manifest{Digest: digest.FromString(fmt.Sprint(i)), Size: 1, PushedAt: start.Add(time.Duration(i) * time.Hour)}
			if err := tx.Manifests().Put("team/app", m); err != nil {
				return err
			}
			if err := tx.Tags().Put("team/app", fmt.Sprint("v", i), m.Digest); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		panic(err)
	}
	queue, err := jobs.NewQueue(store)
	if err != nil {
		panic(err)
	}
	svc, err := retention.New(store, queue)
	if err != nil {
		panic(err)
	}
	every := immutable.Selector{Decoration: immutable.Matches, Pattern: "**"}
	if _, err := svc.SetPolicy(ctx, retention.Policy{Project: "team", Rules: []retention.Rule{
		{Template: retention.LatestPushed, Count: 3, Repositories: every, Tags: every},
	}}); err != nil {
		panic(err)
	}
	plans, err := svc.Plan(ctx, "team")
	if err != nil {
		panic(err)
	}
	for _, p := range plans {
		fmt.Println(p.Repository, "weighs", p.Artifacts, "keeps", p.Retained)
		for _, a := range p.Delete {
			fmt.Println("delete", a.Tags)
		}
	}
	// Output:
	// team/app weighs 5 keeps 3
	// delete [v1]
	// delete [v2]
}
