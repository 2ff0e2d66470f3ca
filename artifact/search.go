package artifact

import (
	"context"
	"strings"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/meta"
)

// MaxSearchResults bounds each kind of search result.
const MaxSearchResults = 100

// SearchResult is what a search found: projects and repositories whose
// names contain the text, among those the caller may see.
type SearchResult struct {
	// Projects are the projects found, in name order.
	Projects []accounts.Project
	// Repositories are the repositories found (with their counts), in
	// name order.
	Repositories []Repository
	// Public reports, by project name, whether a found repository's
	// project is public.
	Public map[string]bool
}

// Search finds the projects p sees and the repositories p may pull from
// whose names contain text (at most MaxSearchResults of each). A private
// repository's name is never found by someone who may not pull from it.
func (s *Service) Search(ctx context.Context, p auth.Principal, text string) (SearchResult, error) {
	if text == "" {
		return SearchResult{}, invalid("q", "empty: say what to search for")
	}
	scopes, err := s.scopes(ctx, p, "")
	if err != nil {
		return SearchResult{}, err
	}
	out := SearchResult{Public: map[string]bool{}}
	for _, sc := range scopes {
		if strings.Contains(sc.proj.Name, text) && len(out.Projects) < MaxSearchResults {
			out.Projects = append(out.Projects, sc.proj)
		}
	}
	names, _, err := s.selectedNames(ctx, p, scopes, RepositoryQuery{NameContains: text, Limit: MaxSearchResults})
	if err != nil {
		return SearchResult{}, err
	}
	err = s.store.View(ctx, func(tx meta.Tx) error {
		out.Repositories, err = describe(tx, names)
		return err
	})
	for _, sc := range scopes {
		out.Public[sc.proj.Name] = sc.proj.Public
	}
	setProjectIDs(out.Repositories, scopes)
	return out, err
}

// Statistics counts what a caller sees.
type Statistics struct {
	// PrivateProjects, PublicProjects, PrivateRepositories and
	// PublicRepositories count the projects the caller sees and the
	// repositories in them.
	PrivateProjects, PublicProjects         int
	PrivateRepositories, PublicRepositories int
}

// Statistics counts the projects p sees and their repositories, from
// the store's counters (one read per project).
func (s *Service) Statistics(ctx context.Context, p auth.Principal) (Statistics, error) {
	scopes, err := s.scopes(ctx, p, "")
	if err != nil {
		return Statistics{}, err
	}
	counts, err := s.countRepositories(ctx, p, scopes)
	if err != nil {
		return Statistics{}, err
	}
	var st Statistics
	for _, sc := range scopes {
		if sc.proj.Public {
			st.PublicProjects++
			st.PublicRepositories += counts[sc.proj.Name]
		} else {
			st.PrivateProjects++
			st.PrivateRepositories += counts[sc.proj.Name]
		}
	}
	return st, nil
}

// RepositoryCounts counts, by project name, the repositories p may pull
// from in each of projs (projects p sees, as accounts listed them for
// p).
func (s *Service) RepositoryCounts(ctx context.Context, p auth.Principal, projs []accounts.Project) (map[string]int, error) {
	scopes := make([]scope, 0, len(projs))
	for _, proj := range projs {
		scopes = append(scopes, scopeFor(proj, p))
	}
	return s.countRepositories(ctx, p, scopes)
}

// countRepositories counts the repositories p may pull from in each
// scope: the store's counter where p may pull them all, else the names
// p's rights match.
func (s *Service) countRepositories(ctx context.Context, p auth.Principal, scopes []scope) (map[string]int, error) {
	out := map[string]int{}
	for _, sc := range scopes {
		if !sc.wide {
			_, n, err := s.selectedNames(ctx, p, []scope{sc}, RepositoryQuery{})
			if err != nil {
				return nil, err
			}
			out[sc.proj.Name] = n
		}
	}
	err := s.store.View(ctx, func(tx meta.Tx) error {
		for _, sc := range scopes {
			if !sc.wide {
				continue
			}
			n, err := tx.Repositories().Count(sc.proj.Name)
			if err != nil {
				return err
			}
			out[sc.proj.Name] = n
		}
		return nil
	})
	return out, err
}
