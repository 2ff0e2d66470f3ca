package replication

import (
	"fmt"
	"slices"

	"github.com/bmatcuk/doublestar/v4"
)

// Filter selects what is replicated. Empty Repositories or Tags match
// everything; an exclude wins over a match.
type Filter struct {
	// Repositories and ExcludeRepositories are doublestar patterns over
	// full repository names ("team/**", "team/app-*").
	Repositories, ExcludeRepositories []string
	// Tags and ExcludeTags are doublestar patterns over tags ("v*",
	// "*-rc*").
	Tags, ExcludeTags []string
}

// Check reports the first pattern that is not a valid doublestar pattern.
func (f Filter) Check() error {
	for _, set := range [][]string{f.Repositories, f.ExcludeRepositories, f.Tags, f.ExcludeTags} {
		for _, p := range set {
			if !doublestar.ValidatePattern(p) {
				return fmt.Errorf("replication: filter pattern %q is not valid", p)
			}
		}
	}
	return nil
}

// match reports name matched by one of include (or include empty) and
// none of exclude.
func match(name string, include, exclude []string) bool {
	hit := func(p string) bool { ok, err := doublestar.Match(p, name); return err == nil && ok }
	return (len(include) == 0 || slices.ContainsFunc(include, hit)) && !slices.ContainsFunc(exclude, hit)
}

// Repository reports whether repository repo is selected.
func (f Filter) Repository(repo string) bool {
	return match(repo, f.Repositories, f.ExcludeRepositories)
}

// Tag reports whether tag is selected.
func (f Filter) Tag(tag string) bool { return match(tag, f.Tags, f.ExcludeTags) }
