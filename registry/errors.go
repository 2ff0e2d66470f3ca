package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/berthreg/berth/internal/outage"
)

// ErrorCode is one of the error codes the OCI distribution specification
// defines for response bodies.
type ErrorCode string

// The error codes of the distribution specification (v1.1).
const (
	CodeBlobUnknown         ErrorCode = "BLOB_UNKNOWN"
	CodeBlobUploadInvalid   ErrorCode = "BLOB_UPLOAD_INVALID"
	CodeBlobUploadUnknown   ErrorCode = "BLOB_UPLOAD_UNKNOWN"
	CodeDigestInvalid       ErrorCode = "DIGEST_INVALID"
	CodeManifestBlobUnknown ErrorCode = "MANIFEST_BLOB_UNKNOWN"
	CodeManifestInvalid     ErrorCode = "MANIFEST_INVALID"
	CodeManifestUnknown     ErrorCode = "MANIFEST_UNKNOWN"
	CodeNameInvalid         ErrorCode = "NAME_INVALID"
	CodeNameUnknown         ErrorCode = "NAME_UNKNOWN"
	CodeSizeInvalid         ErrorCode = "SIZE_INVALID"
	CodeUnauthorized        ErrorCode = "UNAUTHORIZED"
	CodeDenied              ErrorCode = "DENIED"
	CodeUnsupported         ErrorCode = "UNSUPPORTED"
	CodeTooManyRequests     ErrorCode = "TOOMANYREQUESTS"
	// CodeRangeInvalid is Distribution's code for an out-of-order chunk (416).
	CodeRangeInvalid ErrorCode = "RANGE_INVALID"
	// CodeUnavailable is Distribution's code for a 503: here, a backend
	// that cannot be reached (an error wrapping storage.ErrUnavailable or
	// meta.ErrUnavailable), answered with a Retry-After.
	CodeUnavailable ErrorCode = "UNAVAILABLE"
	// CodePolicyViolation is Harbor's code for a pull a project's policy
	// refuses (412): a vulnerable or unsigned artifact.
	CodePolicyViolation ErrorCode = "PROJECTPOLICYVIOLATION"
)

// Error is an error with an OCI error code and an HTTP status. Hooks may
// return one to choose the response a refused request gets; any other error
// from a hook becomes 403 DENIED, but for a backend outage (503).
type Error struct {
	// Status is the HTTP status code of the response.
	Status int
	// Code is the OCI error code in the response body.
	Code ErrorCode
	// Message is a human-readable explanation.
	Message string
	// Detail is optional structured detail, marshalled as JSON.
	Detail any
	// Header holds extra response headers (e.g. WWW-Authenticate).
	Header http.Header
}

// Error implements error.
func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// NewError returns an *Error with the given status, code and message.
func NewError(status int, code ErrorCode, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

type errorBody struct {
	Errors []errorEntry `json:"errors"`
}

type errorEntry struct {
	Code    ErrorCode `json:"code"`
	Message string    `json:"message"`
	Detail  any       `json:"detail,omitempty"`
}

// writeError answers the request with err rendered as an OCI error body.
// A backend outage (an error wrapping storage.ErrUnavailable or
// meta.ErrUnavailable) is 503 UNAVAILABLE with a Retry-After; other
// errors that are not *Error become 500 internal errors, logged by the
// caller.
func writeError(w http.ResponseWriter, err error) {
	var e *Error
	switch {
	case errors.As(err, &e):
	case outage.Is(err):
		e = &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable,
			Message: outage.Message(err),
			Header:  http.Header{"Retry-After": {outage.RetryAfter}}}
	default:
		e = &Error{Status: http.StatusInternalServerError, Code: "UNKNOWN", Message: "internal server error"}
	}
	for k, vs := range e.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Del("Content-Length")
	w.Header().Del("Docker-Content-Digest")
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(errorBody{Errors: []errorEntry{{Code: e.Code, Message: e.Message, Detail: e.Detail}}})
}

func errNameUnknown(name string) *Error {
	return NewError(http.StatusNotFound, CodeNameUnknown, "repository %q is not known to the registry", name)
}

func errBlobUnknown(d fmt.Stringer) *Error {
	return NewError(http.StatusNotFound, CodeBlobUnknown, "blob %s is not known in this repository", d)
}

func errManifestUnknown(ref string) *Error {
	return NewError(http.StatusNotFound, CodeManifestUnknown, "manifest %s is not known in this repository", ref)
}

func errUploadUnknown() *Error {
	return NewError(http.StatusNotFound, CodeBlobUploadUnknown, "upload session is not known")
}

func errDigestInvalid(format string, args ...any) *Error {
	return NewError(http.StatusBadRequest, CodeDigestInvalid, format, args...)
}

func errUnsupported(format string, args ...any) *Error {
	return NewError(http.StatusMethodNotAllowed, CodeUnsupported, format, args...)
}
