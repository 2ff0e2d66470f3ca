package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/berthreg/berth/artifact"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/immutable"
	"github.com/berthreg/berth/internal/outage"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/proxy"
	"github.com/berthreg/berth/quota"
	"github.com/berthreg/berth/replication"
	"github.com/berthreg/berth/retention"
	"github.com/berthreg/berth/scan/engine"
	"github.com/berthreg/berth/trust"
	"github.com/berthreg/berth/webhook"
)

// apiError is an answer in Harbor's error shape.
type apiError struct {
	status     int
	code       string
	msg        string
	retryAfter string // seconds, for 429 and 503
}

func (e *apiError) Error() string { return e.msg }

// Harbor's error codes.
const (
	codeBadRequest   = "BAD_REQUEST"
	codeUnauthorized = "UNAUTHORIZED"
	codeForbidden    = "FORBIDDEN"
	codeNotFound     = "NOT_FOUND"
	codeConflict     = "CONFLICT"
	codeInternal     = "INTERNAL_SERVER_ERROR"
	codePrecondition = "PRECONDITION"
	// codeTooManyRequests answers a rate-limited login or request.
	codeTooManyRequests = "TOO_MANY_REQUESTS"
	// codeBadGateway answers when an identity provider cannot be reached.
	codeBadGateway = "BAD_GATEWAY"
	// codeUnavailable answers when the metadata store or the storage
	// cannot be reached.
	codeUnavailable = "SERVICE_UNAVAILABLE"
)

func badRequest(format string, args ...any) error {
	return &apiError{status: http.StatusBadRequest, code: codeBadRequest, msg: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) error {
	return &apiError{status: http.StatusNotFound, code: codeNotFound, msg: fmt.Sprintf(format, args...)}
}

func forbidden() error {
	return &apiError{status: http.StatusForbidden, code: codeForbidden, msg: "forbidden"}
}

// toAPIError maps the errors of the layers below to Harbor's answers. A
// backend outage is classified first, whatever else err wraps: 503 with
// a Retry-After, not a 500, nor a 401 for a login that could not be
// checked.
func toAPIError(err error) *apiError {
	var e *apiError
	switch {
	case errors.As(err, &e):
		return e
	case outage.Is(err):
		return &apiError{status: http.StatusServiceUnavailable, code: codeUnavailable, msg: outage.Message(err), retryAfter: outage.RetryAfter}
	case errors.Is(err, engine.ErrUnknownScanner):
		return &apiError{status: http.StatusNotFound, code: codeNotFound, msg: err.Error()}
	case errors.Is(err, meta.ErrNotFound):
		return &apiError{status: http.StatusNotFound, code: codeNotFound, msg: "not found"}
	case errors.Is(err, engine.ErrInvalid):
		return &apiError{status: http.StatusBadRequest, code: codeBadRequest, msg: err.Error()}
	case errors.Is(err, engine.ErrNotScannable):
		return &apiError{status: http.StatusBadRequest, code: codeBadRequest, msg: "reference: " + err.Error()}
	case errors.Is(err, engine.ErrExists), errors.Is(err, engine.ErrInUse):
		return &apiError{status: http.StatusConflict, code: codeConflict, msg: err.Error()}
	case errors.Is(err, engine.ErrBuiltin):
		return &apiError{status: http.StatusForbidden, code: codeForbidden, msg: err.Error()}
	case errors.Is(err, engine.ErrUnavailable):
		return &apiError{status: http.StatusBadGateway, code: codeBadGateway, msg: err.Error()}
	case errors.Is(err, accounts.ErrExists):
		return &apiError{status: http.StatusConflict, code: codeConflict, msg: err.Error()}
	case errors.Is(err, accounts.ErrInvalid):
		return &apiError{status: http.StatusBadRequest, code: codeBadRequest, msg: err.Error()}
	case errors.Is(err, accounts.ErrForbidden):
		return &apiError{status: http.StatusForbidden, code: codeForbidden, msg: err.Error()}
	case errors.Is(err, webhook.ErrExists):
		return &apiError{status: http.StatusConflict, code: codeConflict, msg: err.Error()}
	case errors.Is(err, webhook.ErrInvalid):
		return &apiError{status: http.StatusBadRequest, code: codeBadRequest, msg: err.Error()}
	case errors.Is(err, replication.ErrInvalid), errors.Is(err, replication.ErrPingFailed):
		return &apiError{status: http.StatusBadRequest, code: codeBadRequest, msg: err.Error()}
	case errors.Is(err, replication.ErrExists), errors.Is(err, replication.ErrInUse), errors.Is(err, replication.ErrFinal):
		return &apiError{status: http.StatusConflict, code: codeConflict, msg: err.Error()}
	case errors.Is(err, events.ErrBadQuery):
		return &apiError{status: http.StatusBadRequest, code: codeBadRequest, msg: err.Error()}
	case errors.Is(err, jobs.ErrInvalid):
		return &apiError{status: http.StatusBadRequest, code: codeBadRequest, msg: err.Error()}
	case errors.Is(err, jobs.ErrNoScheduler):
		return &apiError{status: http.StatusNotImplemented, code: "NOT_IMPLEMENTED", msg: "this server has no scheduler"}
	case errors.Is(err, immutable.ErrInvalid):
		return &apiError{status: http.StatusBadRequest, code: codeBadRequest, msg: err.Error()}
	case errors.Is(err, immutable.ErrNotFound):
		return &apiError{status: http.StatusNotFound, code: codeNotFound, msg: err.Error()}
	case errors.Is(err, proxy.ErrInvalid):
		return &apiError{status: http.StatusBadRequest, code: codeBadRequest, msg: err.Error()}
	case errors.Is(err, proxy.ErrNotFound):
		return &apiError{status: http.StatusNotFound, code: codeNotFound, msg: err.Error()}
	case errors.Is(err, trust.ErrInvalid):
		return &apiError{status: http.StatusBadRequest, code: codeBadRequest, msg: err.Error()}
	case errors.Is(err, trust.ErrNotFound):
		return &apiError{status: http.StatusNotFound, code: codeNotFound, msg: err.Error()}
	case errors.Is(err, retention.ErrInvalid):
		return &apiError{status: http.StatusBadRequest, code: codeBadRequest, msg: err.Error()}
	case errors.Is(err, retention.ErrNotFound):
		return &apiError{status: http.StatusNotFound, code: codeNotFound, msg: err.Error()}
	case errors.Is(err, quota.ErrInvalid):
		return &apiError{status: http.StatusBadRequest, code: codeBadRequest, msg: err.Error()}
	case errors.Is(err, quota.ErrForbidden):
		return &apiError{status: http.StatusForbidden, code: codeForbidden, msg: err.Error()}
	case errors.Is(err, artifact.ErrInvalid):
		return &apiError{status: http.StatusBadRequest, code: codeBadRequest, msg: strings.TrimPrefix(err.Error(), "artifact: ")}
	case errors.Is(err, artifact.ErrUnauthenticated):
		return &apiError{status: http.StatusUnauthorized, code: codeUnauthorized, msg: err.Error()}
	case errors.Is(err, artifact.ErrForbidden):
		return &apiError{status: http.StatusForbidden, code: codeForbidden, msg: err.Error()}
	case errors.Is(err, artifact.ErrExists):
		return &apiError{status: http.StatusConflict, code: codeConflict, msg: err.Error()}
	case errors.Is(err, artifact.ErrRefused):
		return &apiError{status: http.StatusPreconditionFailed, code: codePrecondition, msg: err.Error()}
	case errors.Is(err, artifact.ErrNoRegistry):
		return &apiError{status: http.StatusNotImplemented, code: "NOT_IMPLEMENTED", msg: err.Error()}
	case errors.Is(err, accounts.ErrNotEmpty):
		return &apiError{status: http.StatusPreconditionFailed, code: codePrecondition, msg: err.Error()}
	}
	return &apiError{status: http.StatusInternalServerError, code: codeInternal, msg: "internal server error"}
}

// writeError answers with err in Harbor's shape; unexpected errors are
// logged, not shown.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := toAPIError(err)
	switch e.status {
	case http.StatusInternalServerError:
		h.log.ErrorContext(r.Context(), "admin API request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	case http.StatusServiceUnavailable:
		h.log.WarnContext(r.Context(), "admin API request failed: a backend is unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="berth"`)
	}
	if e.retryAfter != "" {
		w.Header().Set("Retry-After", e.retryAfter)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": e.code, "message": e.msg}}})
}

// created answers 201 Created with the new resource's path below Prefix
// in Location.
func created(w http.ResponseWriter, path string) {
	w.Header().Set("Location", Prefix+path)
	w.WriteHeader(http.StatusCreated)
}

// writeJSON answers with v.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decode reads a JSON body into v, refusing unknown fields and bodies over
// 1 MiB, with a message naming the problem.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("invalid request body: %v", err)
	}
	return nil
}
