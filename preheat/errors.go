package preheat

import (
	"errors"
	"fmt"

	"github.com/berthreg/berth/meta"
)

// Errors of the Service's operations, for errors.Is (the admin API maps
// them to HTTP statuses: ErrInvalid 400, ErrUnauthenticated 401,
// ErrForbidden 403, ErrNotFound 404, ErrExists, ErrInUse and ErrLimit
// 409, ErrPingFailed 400).
var (
	// ErrNotFound reports a missing instance, policy, execution, task or
	// project, or a project the caller may not see; it is meta.ErrNotFound
	// too (errors.Is), its message naming what is missing.
	ErrNotFound = errors.New("preheat: not found")
	// ErrInvalid reports a record or query the rules refuse; the error is
	// a *FieldError naming the field in Harbor's JSON terms.
	ErrInvalid = errors.New("preheat: invalid")
	// ErrExists reports an instance name or endpoint, or a policy name in
	// its project, already taken.
	ErrExists = errors.New("preheat: exists")
	// ErrInUse reports the deletion or disabling of an instance a policy
	// uses, or the deletion of a policy with an execution in progress.
	ErrInUse = errors.New("preheat: in use")
	// ErrLimit reports a bound reached: MaxInstances, or
	// MaxPoliciesPerProject.
	ErrLimit = errors.New("preheat: limit reached")
	// ErrForbidden reports a signed-in caller without the right to act
	// (see the package documentation for who may do what).
	ErrForbidden = errors.New("preheat: forbidden")
	// ErrUnauthenticated reports an anonymous caller: every operation
	// needs a signed-in one.
	ErrUnauthenticated = errors.New("preheat: authentication required")
	// ErrPingFailed reports an instance that did not answer its health
	// check; the error wraps the provider's.
	ErrPingFailed = errors.New("preheat: ping failed")
)

// FieldError is an invalid record or query: the field, as Harbor's JSON
// spells it ("endpoint", "auth_info.password", "filters.repository",
// "trigger.trigger_setting.cron"), and what is wrong with it. It is
// ErrInvalid (errors.Is) and wraps its cause when it has one
// (netguard.ErrForbiddenAddress for a refused address).
type FieldError struct {
	// Field names the field.
	Field string
	// Reason says what is wrong.
	Reason string
	// Err is the underlying cause, if any.
	Err error
}

// Error is "field: reason".
func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Unwrap returns ErrInvalid and the cause.
func (e *FieldError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrInvalid}
	}
	return []error{ErrInvalid, e.Err}
}

// invalid is a FieldError about field; a %w in format becomes its cause.
func invalid(field, format string, args ...any) *FieldError {
	err := fmt.Errorf(format, args...)
	return &FieldError{Field: field, Reason: err.Error(), Err: errors.Unwrap(err)}
}

// ruleError is a refusal of the Service's rules: a message for people
// and the sentinels (and cause) for errors.Is.
type ruleError struct {
	kinds []error
	msg   string
}

// Error is the message.
func (e *ruleError) Error() string { return e.msg }

// Unwrap gives the sentinels the error is, for errors.Is.
func (e *ruleError) Unwrap() []error { return e.kinds }

// refuse is a ruleError of kind with a formatted message.
func refuse(kind error, format string, args ...any) error {
	return &ruleError{kinds: []error{kind}, msg: fmt.Sprintf(format, args...)}
}

// notFound is ErrNotFound (and meta.ErrNotFound) naming what is missing
// ("preheat policy p of project team").
func notFound(format string, args ...any) error {
	return &ruleError{kinds: []error{ErrNotFound, meta.ErrNotFound}, msg: fmt.Sprintf(format, args...) + " not found"}
}

// missing is notFound when err is meta.ErrNotFound, else err itself.
func missing(err error, format string, args ...any) error {
	if errors.Is(err, meta.ErrNotFound) {
		return notFound(format, args...)
	}
	return err
}
