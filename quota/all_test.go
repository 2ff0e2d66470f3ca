package quota_test

import (
	"context"
	"testing"

	"github.com/berthreg/berth/internal/teststores"
	"github.com/berthreg/berth/quota"
)

// TestAll: every project pushed to or given a limit is listed with its
// limit and usage, in name order; projects whose names prefix each
// other are kept apart.
func TestAll(t *testing.T) {
	teststores.Each(t, func(t *testing.T, open teststores.Opener) {
		svc, _ := newService(t, open, quota.WithDefaultLimit(1<<30))
		s, ctx := svc.Store(), context.Background()
		c, l := blob("c", 10), blob("l", 300)
		for _, repo := range []string{"p/a", "pp/a"} {
			if err := push(ctx, s, repo, image("a", 100, c, l), c, l); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := svc.SetLimit(ctx, "pp", 5000); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.SetLimit(ctx, "empty", quota.Unlimited); err != nil {
			t.Fatal(err)
		}
		all, err := svc.All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []quota.Quota{{Project: "empty", Limit: quota.Unlimited}, {Project: "p", Limit: 1 << 30, Used: 410}, {Project: "pp", Limit: 5000, Used: 410}}
		if len(all) != len(want) {
			t.Fatalf("All = %+v, want %+v", all, want)
		}
		for i, q := range all {
			if q.Project != want[i].Project || q.Limit != want[i].Limit || q.Used != want[i].Used {
				t.Errorf("All[%d] = %+v, want %+v", i, q, want[i])
			}
			got, err := svc.Get(ctx, q.Project)
			if err != nil || got.Used != q.Used || got.Limit != q.Limit {
				t.Errorf("Get(%s) = %+v, %v; All says %+v", q.Project, got, err, q)
			}
		}
	})
}
