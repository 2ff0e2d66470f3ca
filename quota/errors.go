package quota

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/registry"
)

// ErrExceeded is what an *ExceededError matches with errors.Is.
var ErrExceeded = errors.New("quota: storage limit exceeded")

// ExceededError refuses a push that would take its project's usage over
// the project's storage limit. It also matches a *registry.Error (403
// DENIED, as Harbor answers), so the registry answers it as such.
type ExceededError struct {
	// Project is the project whose limit would be exceeded.
	Project string
	// Repository and Digest name the manifest pushed.
	Repository string
	Digest     digest.Digest
	// Limit and Usage are the project's limit and usage, in bytes; Adding
	// is what the push would have added.
	Limit, Usage, Adding int64
}

// Error says what was refused and why.
func (e *ExceededError) Error() string {
	return fmt.Sprintf("quota: project %s: storing %d more bytes would take its usage of %d bytes over its storage limit of %d bytes",
		e.Project, e.Adding, e.Usage, e.Limit)
}

// Unwrap makes the error match ErrExceeded and a *registry.Error.
func (e *ExceededError) Unwrap() []error {
	return []error{ErrExceeded, registry.NewError(http.StatusForbidden, registry.CodeDenied, "%s", e.Error())}
}
