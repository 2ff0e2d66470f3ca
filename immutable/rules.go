package immutable

import (
	"fmt"
	"strings"
	"time"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/berthreg/berth/meta"
)

// MaxRules is how many rules a project may have, as in Harbor.
const MaxRules = 15

// Decorations of a selector: whether names matching its pattern are
// selected, or names not matching it.
const (
	Matches  = "matches"
	Excludes = "excludes"
)

// Selector selects names with a doublestar pattern.
type Selector struct {
	// Decoration is Matches or Excludes.
	Decoration string `json:"decoration"`
	// Pattern is a doublestar pattern ("**", "v1.*", "{app,web}/**").
	Pattern string `json:"pattern"`
}

// Selects reports whether s selects name.
func (s Selector) Selects(name string) bool {
	ok, _ := doublestar.Match(s.Pattern, name)
	return ok == (s.Decoration != Excludes)
}

// Check reports what is wrong with s, naming it field: a message for the
// caller to wrap with its own sentinel (Rule.Check wraps ErrInvalid).
func (s Selector) Check(field string) error {
	switch {
	case s.Decoration != Matches && s.Decoration != Excludes:
		return fmt.Errorf("%s.decoration: %q is not %q or %q", field, s.Decoration, Matches, Excludes)
	case s.Pattern == "":
		return fmt.Errorf("%s.pattern: required", field)
	case len(s.Pattern) > 256:
		return fmt.Errorf("%s.pattern: longer than 256 characters", field)
	case !doublestar.ValidatePattern(s.Pattern):
		return fmt.Errorf("%s.pattern: %q is not a valid doublestar pattern", field, s.Pattern)
	}
	return nil
}

// Rule makes the tags it selects immutable: once such a tag exists, it
// cannot be moved to another manifest or deleted, nor its manifest
// deleted.
type Rule struct {
	// ID numbers the rule within its project (from 1, never reused while
	// the project lives).
	ID int64 `json:"id"`
	// Disabled rules select nothing.
	Disabled bool `json:"disabled,omitempty"`
	// Repositories selects repositories by their name inside the project
	// ("app" for "team/app").
	Repositories Selector `json:"repositories"`
	// Tags selects tags.
	Tags Selector `json:"tags"`
}

// Check reports what is wrong with r, naming the field.
func (r Rule) Check() error {
	if err := r.Repositories.Check("repositories"); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := r.Tags.Check("tags"); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return nil
}

// selects reports whether r makes tag of repository repo (its name inside
// the project) immutable.
func (r Rule) selects(repo, tag string) bool {
	return !r.Disabled && r.Repositories.Selects(repo) && r.Tags.Selects(tag)
}

// projectRules are a project's rules, as stored: one record per project.
type projectRules struct {
	Project   string    `json:"project"`
	LastID    int64     `json:"lastID"`
	Rules     []Rule    `json:"rules"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// records is where rules are kept.
var records = meta.RecordType[projectRules]{Kind: "immutableRules", Key: func(p projectRules) string { return p.Project }}

// ruleSet is the rules in force in one project.
type ruleSet []Rule

// immutable reports whether tag of repo (a full repository name) is
// immutable under the set.
func (rs ruleSet) immutable(repo, tag string) bool {
	_, inProject, _ := strings.Cut(repo, "/")
	for _, r := range rs {
		if r.selects(inProject, tag) {
			return true
		}
	}
	return false
}
