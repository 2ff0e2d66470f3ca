package retention

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/immutable"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
)

// JobKind is the kind of retention runs on the job queue.
const JobKind = "retention"

// Triggers of a run.
const (
	TriggerManual   = "Manual"
	TriggerSchedule = "Schedule"
)

// Statuses of an execution, as Harbor names them.
const (
	StatusPending = "Pending"
	StatusRunning = "Running"
	StatusSucceed = "Succeed"
	StatusFailed  = "Failed"
)

// maxListed bounds the deleted artifacts an execution lists per
// repository (all are counted).
const maxListed = 1000

// Execution is one run of a project's policy, real or dry.
type Execution struct {
	// ID is the run's job id.
	ID      uint64 `json:"id"`
	Project string `json:"project"`
	DryRun  bool   `json:"dryRun"`
	Trigger string `json:"trigger"`
	Status  string `json:"status"`
	// Error says why a failed run failed.
	Error     string    `json:"error,omitempty"`
	StartedAt time.Time `json:"startedAt"`
	EndedAt   time.Time `json:"endedAt,omitzero"`
	// Artifacts, Retained and Deleted add up the repositories': Deleted
	// counts the manifests deleted (for a dry run, that a real run would
	// delete).
	Artifacts int `json:"artifacts"`
	Retained  int `json:"retained"`
	Deleted   int `json:"deleted"`
	// Repositories are the per-repository results; each lists at most
	// 1000 of its deleted manifests.
	Repositories []RepoResult `json:"repositories"`
}

// RepoResult is one repository's part of an execution.
type RepoResult struct {
	RepoPlan
	// Deleted counts the manifests deleted (or, dry, to delete); Skipped
	// those a real run left because they changed since the plan (a tag
	// added or moved) or became immutable.
	Deleted int `json:"deleted"`
	Skipped int `json:"skipped,omitempty"`
}

func executionKey(project string, id uint64) string { return fmt.Sprintf("%s/%020d", project, id) }

// executions are the stored executions, keyed project/id.
var executions = meta.RecordType[Execution]{Kind: "retentionExecutions", Key: func(e Execution) string { return executionKey(e.Project, e.ID) }}

// runPayload is a run job's payload.
type runPayload struct {
	Project string `json:"project"`
	DryRun  bool   `json:"dryRun,omitempty"`
	Trigger string `json:"trigger"`
}

// Start queues a run of project's policy (dry: one that only reports)
// and returns its execution, pending.
func (s *Service) Start(ctx context.Context, project string, dryRun bool) (Execution, error) {
	var ex Execution
	err := s.store.Update(ctx, func(tx meta.Tx) error {
		if _, err := policies.In(tx).Get(project); err != nil {
			return meta.NotFoundAs(err, ErrNotFound, "retention policy of project "+project)
		}
		j, err := jobs.EnqueueTx(tx, jobs.Spec{Kind: JobKind, Payload: runPayload{Project: project, DryRun: dryRun, Trigger: TriggerManual}}, s.now())
		if err != nil {
			return err
		}
		ex = Execution{ID: j.ID, Project: project, DryRun: dryRun, Trigger: TriggerManual, Status: StatusPending,
			StartedAt: s.now().UTC(), Repositories: []RepoResult{}}
		return executions.In(tx).Put(ex)
	})
	if err == nil {
		s.queue.Notify()
	}
	return ex, err
}

// Execution returns one execution of project.
func (s *Service) Execution(ctx context.Context, project string, id uint64) (Execution, error) {
	var ex Execution
	err := s.store.View(ctx, func(tx meta.Tx) error {
		var err error
		ex, err = executions.In(tx).Get(executionKey(project, id))
		return meta.NotFoundAs(err, ErrNotFound, "retention execution "+strconv.FormatUint(id, 10))
	})
	return ex, err
}

// Executions returns project's executions, newest first.
func (s *Service) Executions(ctx context.Context, project string) ([]Execution, error) {
	var out []Execution
	err := s.store.View(ctx, func(tx meta.Tx) error {
		after := project + "/"
		for {
			page, err := executions.In(tx).List(after, 256)
			if err != nil {
				return err
			}
			for _, ex := range page {
				if ex.Project != project {
					return nil // past the project's keys
				}
				out = append(out, ex)
			}
			if len(page) < 256 {
				return nil
			}
			after = executionKey(project, page[len(page)-1].ID)
		}
	})
	slices.Reverse(out)
	return out, err
}

// Job returns the jobs.Handler of JobKind. A run plans every repository
// of the project in one snapshot; a dry run stops there, a real one
// deletes the plan in batches, each artifact only if it still has the
// tags it was planned with. Its execution record is kept up to date and
// a TAG_RETENTION event ends it.
func (s *Service) Job() jobs.Handler {
	return jobs.HandlerFunc(func(ctx context.Context, j meta.Job) error {
		var p runPayload
		if err := json.Unmarshal(j.Payload, &p); err != nil || p.Project == "" {
			return jobs.Permanent(fmt.Errorf("retention: job %d: bad payload", j.ID))
		}
		ex, err := s.begin(ctx, j.ID, p)
		if err != nil {
			return err
		}
		runErr := s.run(ctx, &ex)
		ex.EndedAt, ex.Status = s.now().UTC(), StatusSucceed
		if runErr != nil {
			ex.Status, ex.Error = StatusFailed, runErr.Error()
		}
		if err := s.finish(context.WithoutCancel(ctx), ex); err != nil {
			return errors.Join(runErr, err)
		}
		return runErr
	})
}

// begin marks the execution of job id running (making its record for a
// scheduled run).
func (s *Service) begin(ctx context.Context, id uint64, p runPayload) (Execution, error) {
	ex := Execution{ID: id, Project: p.Project, DryRun: p.DryRun, Trigger: p.Trigger, Status: StatusRunning,
		StartedAt: s.now().UTC(), Repositories: []RepoResult{}}
	err := s.store.Update(ctx, func(tx meta.Tx) error {
		if old, err := executions.In(tx).Get(executionKey(p.Project, id)); err == nil {
			ex.StartedAt = old.StartedAt
		}
		return executions.In(tx).Put(ex)
	})
	return ex, err
}

// finish stores the execution as it ended, with its TAG_RETENTION event.
func (s *Service) finish(ctx context.Context, ex Execution) error {
	return s.store.Update(ctx, func(tx meta.Tx) error {
		if err := executions.In(tx).Put(ex); err != nil {
			return err
		}
		e := meta.Event{Type: events.TagRetention, Time: ex.EndedAt, Project: ex.Project, Resource: ex.Project,
			Result: map[bool]string{true: "success", false: "failure"}[ex.Status == StatusSucceed],
			Details: map[string]string{
				"execution": strconv.FormatUint(ex.ID, 10), "dry_run": strconv.FormatBool(ex.DryRun),
				"status": ex.Status, "total": strconv.Itoa(ex.Artifacts), "retained": strconv.Itoa(ex.Retained),
				"deleted": strconv.Itoa(ex.Deleted),
			}}
		if p, ok := auth.PrincipalFrom(ctx); ok {
			e.Operator = p.Name
		}
		_, err := tx.Events().Append(e)
		return err
	})
}

// run plans the execution's project and, unless dry, applies the plan.
func (s *Service) run(ctx context.Context, ex *Execution) error {
	plans, err := s.Plan(ctx, ex.Project)
	if err != nil {
		return err
	}
	for _, plan := range plans {
		res := RepoResult{RepoPlan: plan}
		if ex.DryRun {
			res.Deleted = len(plan.Delete)
		} else {
			deleted, skipped, err := s.apply(ctx, plan)
			res.Delete, res.Deleted, res.Skipped = deleted, len(deleted), skipped
			if err != nil {
				s.add(ex, res)
				return err
			}
		}
		s.add(ex, res)
	}
	return nil
}

// add counts a repository's result into the execution.
func (s *Service) add(ex *Execution, res RepoResult) {
	ex.Artifacts += res.Artifacts
	ex.Retained += res.Retained
	ex.Deleted += res.Deleted
	if len(res.Delete) > maxListed {
		res.Delete = res.Delete[:maxListed]
	}
	ex.Repositories = append(ex.Repositories, res)
}

// Plan returns what a run of project's policy would delete now, per
// repository the policy selects, in one snapshot of the store.
func (s *Service) Plan(ctx context.Context, project string) ([]RepoPlan, error) {
	var out []RepoPlan
	err := s.store.View(ctx, func(tx meta.Tx) error {
		pol, err := policies.In(tx).Get(project)
		if err != nil {
			return meta.NotFoundAs(err, ErrNotFound, "retention policy of project "+project)
		}
		repos, err := meta.RepositoriesWithPrefix(tx, project+"/")
		if err != nil {
			return err
		}
		now := s.now()
		for _, repo := range repos {
			rules := pol.rulesFor(repo)
			if len(rules) == 0 {
				continue
			}
			arts, err := readRepo(tx, repo)
			if err != nil {
				return err
			}
			plan, err := planRepo(repo, arts, rules, now, func(repo, tag string) (bool, error) {
				return s.immutable(ctx, repo, tag)
			})
			if err != nil {
				return err
			}
			out = append(out, plan)
		}
		return nil
	})
	return out, err
}

// rulesFor returns the enabled rules that select repo (a full name).
func (p Policy) rulesFor(repo string) []Rule {
	inProject := repo[min(len(repo), len(p.Project)+1):]
	var out []Rule
	for _, r := range p.Rules {
		if !r.Disabled && r.Repositories.Selects(inProject) {
			out = append(out, r)
		}
	}
	return out
}

// apply deletes plan's manifests in batches, each only if it still has
// the tags it was planned with (a manifest tagged or moved to since is
// left, as is one an immutability rule now protects), and returns those
// deleted and how many were left.
func (s *Service) apply(ctx context.Context, plan RepoPlan) ([]Artifact, int, error) {
	var deleted []Artifact
	skipped := 0
	for start := 0; start < len(plan.Delete); start += s.batch {
		batch := plan.Delete[start:min(start+s.batch, len(plan.Delete))]
		var done []Artifact
		var left int
		err := s.store.Update(ctx, func(tx meta.Tx) error {
			done, left = done[:0], 0
			for _, a := range batch {
				ok, err := s.deleteIfUnchanged(tx, plan.Repository, a)
				if err != nil {
					return err
				}
				if ok {
					done = append(done, a)
				} else {
					left++
				}
			}
			return nil
		})
		if err != nil {
			return deleted, skipped, err
		}
		deleted, skipped = append(deleted, done...), skipped+left
	}
	return deleted, skipped, nil
}

// deleteIfUnchanged deletes manifest a from repo if it still has exactly
// the tags it was planned with, reporting whether it did.
func (s *Service) deleteIfUnchanged(tx meta.Tx, repo string, a Artifact) (bool, error) {
	tags, err := tx.Tags().Of(repo, a.Digest)
	if err != nil {
		return false, err
	}
	if !slices.Equal(tags, a.Tags) {
		return false, nil
	}
	err = tx.Manifests().Delete(repo, a.Digest)
	switch {
	case errors.Is(err, meta.ErrNotFound), errors.Is(err, immutable.ErrImmutable):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}
