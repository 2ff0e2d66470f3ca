package replication

import (
	"errors"
	"fmt"

	"github.com/berthreg/berth/meta"
)

// Errors of the Service's operations, for errors.Is. A missing endpoint,
// policy, execution or task is meta.ErrNotFound, its message naming it
// ("registry dc2 not found").
var (
	// ErrInvalid reports a record or query the rules refuse; the error is
	// a *FieldError naming the field.
	ErrInvalid = errors.New("replication: invalid")
	// ErrExists reports an endpoint or policy name already taken.
	ErrExists = errors.New("replication: exists")
	// ErrInUse reports the deletion of an endpoint a policy uses, or of a
	// policy with an execution in progress.
	ErrInUse = errors.New("replication: in use")
	// ErrPingFailed reports an endpoint that did not answer a ping with
	// its credentials accepted.
	ErrPingFailed = errors.New("replication: ping failed")
)

// FieldError is an invalid record or query: the field, as the record's
// JSON spells it ("url", "caCert", "tags"; several joined by ", "), and
// what is wrong with it. It is ErrInvalid (errors.Is) and wraps its cause
// when it has one (netguard.ErrForbiddenAddress for a refused address).
type FieldError struct {
	// Field names the field or fields ("source, destination").
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
// and the sentinel (and cause) for errors.Is.
type ruleError struct {
	kind, cause error
	msg         string
}

func (e *ruleError) Error() string { return e.msg }

func (e *ruleError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.cause}
}

// refuse is a ruleError of kind with a formatted message.
func refuse(kind error, format string, args ...any) error {
	return &ruleError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// missing is meta.ErrNotFound naming what is missing ("registry dc2"),
// or err itself when it is another failure.
func missing(err error, format string, args ...any) error {
	if errors.Is(err, meta.ErrNotFound) {
		return refuse(meta.ErrNotFound, format+" not found", args...)
	}
	return err
}
