package quota

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry/naming"
)

// JobKind is the kind of the jobs that recompute usage (Service.Job).
const JobKind = "quota.recompute"

// JobPayload is what a recompute job does: one project (every project
// when empty), and whether to fix what it finds.
type JobPayload struct {
	Project string `json:"project,omitempty"`
	Fix     bool   `json:"fix,omitempty"`
}

// JobResult is a recompute job's result: how many projects it checked,
// and the reports of those whose bookkeeping was off.
type JobResult struct {
	Projects int      `json:"projects"`
	Drifted  []Report `json:"drifted"`
}

// Job returns the jobs.Handler of JobKind: it recomputes the usage of
// the payload's projects (Recompute), one transaction each, and keeps a
// JobResult as the job's result; drift is logged at Warn.
func (s *Service) Job() jobs.Handler {
	return jobs.HandlerFunc(func(ctx context.Context, j meta.Job) error {
		var p JobPayload
		if len(j.Payload) > 0 {
			if err := json.Unmarshal(j.Payload, &p); err != nil {
				return jobs.Permanent(fmt.Errorf("quota: job %d: bad payload: %w", j.ID, err))
			}
		}
		projects := []string{p.Project}
		if p.Project == "" {
			var err error
			if projects, err = s.Projects(ctx); err != nil {
				return err
			}
		}
		res := JobResult{Projects: len(projects), Drifted: []Report{}}
		for _, name := range projects {
			rep, err := s.Recompute(ctx, name, p.Fix)
			if err != nil {
				return err
			}
			if !rep.Clean() {
				s.logger.Warn("quota: usage drifted", "project", name, "counted", rep.Counted, "actual", rep.Actual,
					"marksWrong", rep.MarksWrong, "holdersWrong", rep.HoldersWrong, "fixed", rep.Fixed)
				res.Drifted = append(res.Drifted, rep)
			}
		}
		q, err := jobs.NewQueue(s.store)
		if err != nil {
			return err
		}
		return q.SetResult(context.WithoutCancel(ctx), j.ID, res)
	})
}

// Projects lists, in order, the projects that hold repositories or have
// usage counted.
func (s *Service) Projects(ctx context.Context) ([]string, error) {
	seen := map[string]bool{}
	err := s.store.View(ctx, func(tx meta.Tx) error {
		repos, err := meta.RepositoriesWithPrefix(tx, "")
		if err != nil {
			return err
		}
		for _, r := range repos {
			seen[naming.ProjectOf(r)] = true
		}
		return forEach(tx.Records(Kind), "shard/", func(rec meta.Record) error {
			project, _, _ := strings.Cut(strings.TrimPrefix(rec.Key, "shard/"), "/")
			seen[project] = true
			return nil
		})
	})
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	slices.Sort(out)
	return out, err
}
