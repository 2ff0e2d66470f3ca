package retention

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/berthreg/berth/immutable"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
)

// MaxRules is how many rules a policy may have, as in Harbor.
const MaxRules = 15

// The rule templates: what a rule keeps of the artifacts it selects.
const (
	// LatestPushed keeps the Count most recently pushed.
	LatestPushed = "latestPushedK"
	// LatestPulled keeps the Count most recently pulled (never pulled
	// last).
	LatestPulled = "latestPulledN"
	// PushedWithin keeps those pushed within the last Count days.
	PushedWithin = "nDaysSinceLastPush"
	// PulledWithin keeps those pulled within the last Count days.
	PulledWithin = "nDaysSinceLastPull"
	// Always keeps every artifact selected.
	Always = "always"
)

// templates lists the valid templates.
var templates = []string{LatestPushed, LatestPulled, PushedWithin, PulledWithin, Always}

// ErrInvalid reports a rule or policy that fails its checks.
var ErrInvalid = errors.New("retention: invalid policy")

// ErrNotFound reports a missing project, policy or execution.
var ErrNotFound = errors.New("retention: not found")

// Rule keeps some artifacts of the repositories it selects. An artifact
// is kept when any enabled rule of its repository keeps it; a repository
// no enabled rule selects is left alone.
type Rule struct {
	// ID numbers the rule within its policy (from 1).
	ID int64 `json:"id"`
	// Disabled rules keep nothing and select nothing.
	Disabled bool `json:"disabled,omitempty"`
	// Template is what the rule keeps (LatestPushed, …).
	Template string `json:"template"`
	// Count is the template's parameter: artifacts for LatestPushed and
	// LatestPulled, days for PushedWithin and PulledWithin; unused by
	// Always.
	Count int `json:"count,omitempty"`
	// Repositories selects repositories by their name inside the project.
	Repositories immutable.Selector `json:"repositories"`
	// Tags selects the artifacts that have a tag it selects.
	Tags immutable.Selector `json:"tags"`
	// Untagged selects the artifacts without tags as well.
	Untagged bool `json:"untagged,omitempty"`
}

// Check reports what is wrong with r, naming the field.
func (r Rule) Check() error {
	switch {
	case !slices.Contains(templates, r.Template):
		return fmt.Errorf("%w: template: %q is not one of %v", ErrInvalid, r.Template, templates)
	case r.Template != Always && (r.Count < 1 || r.Count > 100000):
		return fmt.Errorf("%w: count: %d is not between 1 and 100000", ErrInvalid, r.Count)
	}
	for _, sel := range []struct {
		field string
		s     immutable.Selector
	}{{"repositories", r.Repositories}, {"tags", r.Tags}} {
		if err := sel.s.Check(sel.field); err != nil {
			return fmt.Errorf("%w: %v", ErrInvalid, err)
		}
	}
	return nil
}

// Policy is a project's retention policy.
type Policy struct {
	// Project is the project's name.
	Project string `json:"project"`
	// Rules are OR'ed: an artifact any rule keeps is kept.
	Rules []Rule `json:"rules"`
	// Schedule, when set, runs the policy on a cron spec with seconds
	// ("0 0 0 1 */1 *": at midnight on the first of every month).
	Schedule string `json:"schedule,omitempty"`
	// LastRuleID is the last id given to a rule.
	LastRuleID int64 `json:"lastRuleID"`
	// UpdatedAt is when it was last saved.
	UpdatedAt time.Time `json:"updatedAt"`
}

// Check reports what is wrong with p, naming the field.
func (p Policy) Check() error {
	if len(p.Rules) > MaxRules {
		return fmt.Errorf("%w: rules: %d, at most %d", ErrInvalid, len(p.Rules), MaxRules)
	}
	for i, r := range p.Rules {
		if err := r.Check(); err != nil {
			return fmt.Errorf("rules[%d]: %w", i, err)
		}
	}
	if p.Schedule != "" {
		if err := jobs.ValidSchedule(p.Schedule); err != nil {
			return fmt.Errorf("%w: schedule: %v", ErrInvalid, err)
		}
	}
	return nil
}

// policies are the stored policies, one per project.
var policies = meta.RecordType[Policy]{Kind: "retentionPolicies", Key: func(p Policy) string { return p.Project }}
