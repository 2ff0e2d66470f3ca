package artifact

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry/naming"
	"github.com/berthreg/berth/retention"
)

// Repository is a repository as listed.
type Repository struct {
	// Name is the full name, project included.
	Name string
	// Project is the project it is in, ProjectID that project's id.
	Project   string
	ProjectID uint64
	// Description is what its maintainers wrote of it.
	Description string
	// ArtifactCount counts its artifacts.
	ArtifactCount int
	// PullCount counts the pulls of its manifests recorded.
	PullCount int64
	// CreatedAt is when it was created; UpdatedAt when its newest
	// artifact was pushed (CreatedAt while it holds none).
	CreatedAt, UpdatedAt time.Time
}

// info is what the Service keeps of a repository beside the store's
// record.
type info struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// infos keeps repository descriptions.
var infos = meta.RecordType[info]{Kind: "repositoryInfo", Key: func(i info) string { return i.Name }}

// RepositoryQuery selects and orders repositories.
type RepositoryQuery struct {
	// Name keeps only the repository of this full name.
	Name string
	// NameContains keeps the repositories whose full name contains it.
	NameContains string
	// Sort is "name" (the default), "creation_time", "update_time" or
	// "pull_count", each optionally prefixed by '-' for descending.
	Sort string
	// Offset repositories are skipped, then up to Limit returned.
	Offset, Limit int
}

var repositorySorts = []string{"name", "creation_time", "update_time", "pull_count"}

func (q RepositoryQuery) check() error {
	if q.Offset < 0 || q.Limit < 0 {
		return invalid("page", "must not be negative")
	}
	if q.Sort != "" && !slices.Contains(repositorySorts, strings.TrimPrefix(q.Sort, "-")) {
		return invalid("sort", fmt.Sprintf("%q: one of %s, optionally with a leading '-'", q.Sort, strings.Join(repositorySorts, ", ")))
	}
	return nil
}

// ListRepositories returns a page of the repositories of project that p
// may pull from ("" : of every project p sees) and how many q selects in
// all. A project p may not see is meta.ErrNotFound.
func (s *Service) ListRepositories(ctx context.Context, p auth.Principal, project string, q RepositoryQuery) ([]Repository, int, error) {
	if err := q.check(); err != nil {
		return nil, 0, err
	}
	scopes, err := s.scopes(ctx, p, project)
	if err != nil {
		return nil, 0, err
	}
	byName := q.Sort == "" || q.Sort == "name"
	fast := byName && q.Name == "" && q.NameContains == ""
	for _, sc := range scopes {
		fast = fast && sc.wide
	}
	var names []string
	total := 0
	if fast {
		names, total, err = s.namePage(ctx, scopes, q.Offset, q.Limit)
	} else {
		names, total, err = s.selectedNames(ctx, p, scopes, q)
	}
	if err != nil {
		return nil, 0, err
	}
	var out []Repository
	err = s.store.View(ctx, func(tx meta.Tx) error {
		out, err = describe(tx, names)
		return err
	})
	setProjectIDs(out, scopes)
	return out, total, err
}

// setProjectIDs fills the ProjectID of repos from the scopes they are in.
func setProjectIDs(repos []Repository, scopes []scope) {
	ids := map[string]uint64{}
	for _, sc := range scopes {
		ids[sc.proj.Name] = sc.proj.ID
	}
	for i := range repos {
		repos[i].ProjectID = ids[repos[i].Project]
	}
}

// scopes returns project, or every project p sees, in name order.
func (s *Service) scopes(ctx context.Context, p auth.Principal, project string) ([]scope, error) {
	if project != "" {
		sc, err := s.scopeOf(ctx, p, project)
		return []scope{sc}, err
	}
	projs, _, err := s.projects.ListProjects(ctx, p, accounts.ProjectFilter{}, accounts.Page{Number: 1})
	if err != nil {
		return nil, err
	}
	out := make([]scope, 0, len(projs))
	for _, proj := range projs {
		out = append(out, scopeFor(proj, p))
	}
	return out, nil
}

// namePage is page [offset, offset+limit) of the repositories of
// scopes in (project, name) order, read from the store's counters and
// name index, and the total.
func (s *Service) namePage(ctx context.Context, scopes []scope, offset, limit int) ([]string, int, error) {
	var names []string
	total := 0
	err := s.store.View(ctx, func(tx meta.Tx) error {
		names, total = nil, 0
		skip := offset
		for _, sc := range scopes {
			n, err := tx.Repositories().Count(sc.proj.Name)
			if err != nil {
				return err
			}
			total += n
			if skip >= n {
				skip -= n
				continue
			}
			if limit > 0 && len(names) >= limit {
				continue
			}
			want := 0
			if limit > 0 {
				want = limit - len(names)
			}
			got, err := namesIn(tx, sc.proj.Name, skip, want)
			if err != nil {
				return err
			}
			skip = 0
			names = append(names, got...)
		}
		return nil
	})
	return names, total, err
}

// namesIn returns up to limit (0: all) names of project's repositories
// in name order after skipping skip, reading skip+limit names.
func namesIn(tx meta.Tx, project string, skip, limit int) ([]string, error) {
	const batch = 1000
	prefix := project + "/"
	after := prefix
	var out []string
	for {
		n := batch
		if skip == 0 && limit > 0 {
			n = min(batch, limit-len(out))
		}
		got, err := tx.Repositories().List(after, n)
		if err != nil {
			return nil, err
		}
		for _, name := range got {
			if !strings.HasPrefix(name, prefix) {
				return out, nil
			}
			if skip > 0 {
				skip--
				continue
			}
			out = append(out, name)
			if limit > 0 && len(out) == limit {
				return out, nil
			}
		}
		if len(got) < n {
			return out, nil
		}
		after = got[len(got)-1]
	}
}

// selectedNames reads the names of the scopes' repositories, keeps those
// p may pull from that q selects, orders them as q says, and returns
// q's page and how many there are.
func (s *Service) selectedNames(ctx context.Context, p auth.Principal, scopes []scope, q RepositoryQuery) ([]string, int, error) {
	var all []string
	err := s.store.View(ctx, func(tx meta.Tx) error {
		all = nil
		for _, sc := range scopes {
			names, err := namesIn(tx, sc.proj.Name, 0, 0)
			if err != nil {
				return err
			}
			for _, name := range names {
				if q.Name != "" && name != q.Name || q.NameContains != "" && !strings.Contains(name, q.NameContains) {
					continue
				}
				all = append(all, name)
			}
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	wide := map[string]scope{}
	for _, sc := range scopes {
		wide[sc.proj.Name] = sc
	}
	kept := all[:0]
	for _, name := range all {
		ok, err := s.pullable(ctx, p, wide[naming.ProjectOf(name)], name)
		if err != nil {
			return nil, 0, err
		}
		if ok {
			kept = append(kept, name)
		}
	}
	field, desc := strings.TrimPrefix(q.Sort, "-"), strings.HasPrefix(q.Sort, "-")
	if field != "" && field != "name" {
		var repos []Repository
		if err := s.store.View(ctx, func(tx meta.Tx) error {
			var err error
			repos, err = describe(tx, kept)
			return err
		}); err != nil {
			return nil, 0, err
		}
		slices.SortStableFunc(repos, func(a, b Repository) int {
			switch field {
			case "creation_time":
				return a.CreatedAt.Compare(b.CreatedAt)
			case "update_time":
				return a.UpdatedAt.Compare(b.UpdatedAt)
			}
			return cmp.Compare(a.PullCount, b.PullCount)
		})
		kept = kept[:0]
		for _, r := range repos {
			kept = append(kept, r.Name)
		}
	}
	if desc {
		slices.Reverse(kept)
	}
	page := window(kept, q.Offset, q.Limit)
	return page, len(kept), nil
}

// describe reads what is listed of repositories names, in their order:
// one record, one counter read and one index seek each, and one read of
// all their descriptions and pull counts.
func describe(tx meta.Tx, names []string) ([]Repository, error) {
	if len(names) == 0 {
		return []Repository{}, nil
	}
	descs, err := tx.Records(infos.Kind).GetMany(names)
	if err != nil {
		return nil, err
	}
	pulls, err := retention.PullCountsIn(tx, names)
	if err != nil {
		return nil, err
	}
	out := make([]Repository, 0, len(names))
	for _, name := range names {
		rec, err := tx.Repositories().Get(name)
		if err != nil {
			return nil, err
		}
		st, err := tx.Repositories().Stats(name)
		if err != nil {
			return nil, err
		}
		r := Repository{Name: name, Project: naming.ProjectOf(name), ArtifactCount: st.Artifacts, PullCount: pulls[name],
			CreatedAt: rec.CreatedAt, UpdatedAt: rec.CreatedAt}
		newest, _, err := tx.Manifests().Artifacts(name, meta.ArtifactQuery{Limit: 1})
		if err != nil {
			return nil, err
		}
		if len(newest) == 1 && newest[0].PushedAt.After(r.UpdatedAt) {
			r.UpdatedAt = newest[0].PushedAt
		}
		if raw, ok := descs[name]; ok {
			var i info
			if err := json.Unmarshal(raw, &i); err == nil {
				r.Description = i.Description
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// GetRepository returns repository repo as p sees it (meta.ErrNotFound
// when it does not exist or p may not pull from it).
func (s *Service) GetRepository(ctx context.Context, p auth.Principal, repo string) (Repository, error) {
	if err := s.need(ctx, p, repo, auth.ActionPull); err != nil {
		return Repository{}, err
	}
	var out []Repository
	err := s.store.View(ctx, func(tx meta.Tx) error {
		var err error
		out, err = describe(tx, []string{repo})
		return err
	})
	if err != nil {
		return Repository{}, err
	}
	sc, err := s.scopeOf(ctx, p, out[0].Project)
	out[0].ProjectID = sc.proj.ID
	return out[0], err
}

// MaxDescription bounds a repository's description, in bytes.
const MaxDescription = 64 << 10

// SetDescription sets repository repo's description (for those who may
// push to it).
func (s *Service) SetDescription(ctx context.Context, p auth.Principal, repo, description string) error {
	if len(description) > MaxDescription {
		return invalid("description", fmt.Sprintf("longer than %d bytes", MaxDescription))
	}
	if err := s.need(ctx, p, repo, auth.ActionPush); err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx meta.Tx) error {
		if _, err := tx.Repositories().Get(repo); err != nil {
			return err
		}
		if description == "" {
			err := infos.In(tx).Delete(repo)
			if errors.Is(err, meta.ErrNotFound) {
				return nil
			}
			return err
		}
		return infos.In(tx).Put(info{Name: repo, Description: description})
	})
}

// DeleteRepository deletes repository repo with everything in it (for
// those who may delete from it), in one transaction of the store New was
// given, so its policies and cleanups (labels, the security hub: see
// internal/ondelete) hold (a repository with an immutable tag is
// refused; quotas are given back), with one DELETE_REPOSITORY event.
func (s *Service) DeleteRepository(ctx context.Context, p auth.Principal, repo string) error {
	if err := s.need(ctx, p, repo, auth.ActionDelete); err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx meta.Tx) error {
		if err := tx.Repositories().Delete(repo); err != nil {
			return err
		}
		if err := infos.In(tx).Delete(repo); err != nil && !errors.Is(err, meta.ErrNotFound) {
			return err
		}
		if err := retention.ForgetRepository(tx, repo); err != nil {
			return err
		}
		_, err := tx.Events().Append(meta.Event{Type: events.DeleteRepository, Operator: p.Name, Repository: repo,
			Project: naming.ProjectOf(repo), Result: "success"})
		return err
	})
}
