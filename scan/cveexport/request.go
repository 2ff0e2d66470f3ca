package cveexport

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/bmatcuk/doublestar/v4"
)

// Bounds of a request.
const (
	maxJobName = 255
	maxListed  = 100
	maxPattern = 1024
	maxCVEs    = 1000
	maxCVELen  = 128
)

// Errors the service returns.
var (
	// ErrInvalid reports a bad request: a *FieldError naming the field.
	ErrInvalid = errors.New("cveexport: invalid request")
	// ErrNotFound reports an execution, or a project, the caller cannot
	// see; it wraps meta.ErrNotFound when the store said so.
	ErrNotFound = errors.New("cveexport: not found")
	// ErrNotReady reports a download of an export that has not finished
	// well (pending, running, failed or stopped).
	ErrNotReady = errors.New("cveexport: the export has no file")
	// ErrTooMany reports a caller whose kept executions are all still
	// running.
	ErrTooMany = errors.New("cveexport: too many exports running")
	// ErrUnauthenticated reports an anonymous caller.
	ErrUnauthenticated = errors.New("cveexport: authentication required")
)

// FieldError is invalid input, naming the field as Harbor's request
// spells it. It matches ErrInvalid.
type FieldError struct {
	Field   string
	Problem string
}

// Error is "field: problem".
func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }

// Is matches ErrInvalid.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

func invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)}
}

// Request is what to export.
type Request struct {
	// JobName names the export for its owner.
	JobName string `json:"jobName,omitempty"`
	// Projects are project names and ProjectIDs project ids
	// (accounts.Project.ID); none of either: every project the caller
	// may pull from. Start resolves the ids to names.
	Projects   []string `json:"projects,omitempty"`
	ProjectIDs []uint64 `json:"projectIds,omitempty"`
	// Labels keeps the artifacts carrying one of these labels (ids).
	Labels []int64 `json:"labels,omitempty"`
	// Repositories is a doublestar pattern on repository names inside
	// their project ("app", "team-*/**", "{a,b}"); "" keeps all.
	Repositories string `json:"repositories,omitempty"`
	// Tags is a doublestar pattern an artifact's tags must match one of
	// (untagged artifacts are then left out); "" keeps all.
	Tags string `json:"tags,omitempty"`
	// CVEs is a comma-separated list of CVE ids to keep; "" keeps all.
	CVEs string `json:"cveIds,omitempty"`
}

// check validates r.
func (r Request) check() error {
	if utf8.RuneCountInString(r.JobName) > maxJobName {
		return invalid("job_name", "longer than %d characters", maxJobName)
	}
	if len(r.Projects)+len(r.ProjectIDs) > maxListed {
		return invalid("projects", "more than %d", maxListed)
	}
	for i, p := range r.Projects {
		if p == "" || strings.Contains(p, "/") {
			return invalid(fmt.Sprintf("projects[%d]", i), "%q is not a project name", p)
		}
	}
	for i, id := range r.ProjectIDs {
		if id == 0 {
			return invalid(fmt.Sprintf("projects[%d]", len(r.Projects)+i), "0 is not a project id")
		}
	}
	if len(r.Labels) > maxListed {
		return invalid("labels", "more than %d", maxListed)
	}
	for i, id := range r.Labels {
		if id <= 0 {
			return invalid(fmt.Sprintf("labels[%d]", i), "%d is not a label id", id)
		}
	}
	for _, f := range []struct{ field, pattern string }{{"repositories", r.Repositories}, {"tags", r.Tags}} {
		if len(f.pattern) > maxPattern {
			return invalid(f.field, "longer than %d bytes", maxPattern)
		}
		if !doublestar.ValidatePattern(f.pattern) {
			return invalid(f.field, "%q is not a valid pattern", f.pattern)
		}
	}
	_, err := r.cveSet()
	return err
}

// cveSet is the CVE ids to keep (nil: all).
func (r Request) cveSet() (map[string]bool, error) {
	if strings.TrimSpace(r.CVEs) == "" {
		return nil, nil
	}
	ids := strings.Split(r.CVEs, ",")
	if len(ids) > maxCVEs {
		return nil, invalid("cveIds", "more than %d ids", maxCVEs)
	}
	out := make(map[string]bool, len(ids))
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if id == "" || len(id) > maxCVELen {
			return nil, invalid("cveIds", "%q is not a CVE id", id)
		}
		out[id] = true
	}
	return out, nil
}
