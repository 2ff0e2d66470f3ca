package api

import (
	"errors"
	"math"
	"net/http"
	"strings"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/internal/harborq"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/replication"
)

// WithReplication serves registry endpoints, replication policies,
// executions and tasks (/registries, /replication/…) through s, which
// holds their rules.
func WithReplication(s *replication.Service) Option { return func(h *Handler) { h.replication = s } }

// replicator refuses everyone but administrators (Harbor's registries
// and replication are theirs) and returns the replication service, or
// 501 without one.
func (h *Handler) replicator(p auth.Principal) (*replication.Service, error) {
	if err := adminOnly(p); err != nil {
		return nil, err
	}
	if h.replication == nil {
		return nil, &apiError{status: http.StatusNotImplemented, code: "NOT_IMPLEMENTED", msg: "this server runs no replication"}
	}
	return h.replication, nil
}

// replicationError maps the replication service's errors: a refused
// field is a 400 naming it as the API does (rename maps the record's
// field names; nil keeps them), a missing thing a 404 with the service's
// message; toAPIError maps the others.
func replicationError(err error, rename func(field, reason string) string) error {
	var fe *replication.FieldError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &fe):
		if rename == nil {
			return badRequest("%s", fe.Error())
		}
		return badRequest("%s", renameFields(fe.Error(), rename))
	case errors.Is(err, meta.ErrNotFound):
		return notFound("%s", err.Error())
	}
	return err
}

// toPage is a request's page as the service's.
func toPage(pg page) replication.Page {
	if pg.num-1 > math.MaxInt/pg.size {
		return replication.Page{Offset: math.MaxInt, Limit: pg.size}
	}
	return replication.Page{Offset: (pg.num - 1) * pg.size, Limit: pg.size}
}

// writeWindow answers with one page of a listing of total items, with
// the paging headers, as writePage does for a whole list.
func writeWindow[T any](w http.ResponseWriter, r *http.Request, pg page, items []T, total int) {
	pg.setHeaders(w, r, total)
	writeJSON(w, http.StatusOK, append([]T{}, items...))
}

// fieldQuery is Harbor's q over the given keys (see harborq); the
// matcher reads a record's values through get.
func fieldQuery(q string, keys ...string) (func(get func(key string) string) bool, error) {
	parsed, err := harborq.Parse(q, keys...)
	if err != nil {
		return nil, badRequest("%v", err)
	}
	return parsed.Match, nil
}

// renameFields turns the field names a check's message starts with
// ("caCert: …", "source, destination: …") into the API's, by names;
// unknown ones are kept.
func renameFields(msg string, names func(field, rest string) string) string {
	prefix, rest, ok := strings.Cut(msg, ": ")
	if !ok {
		return msg
	}
	fields := strings.Split(prefix, ", ")
	for i, f := range fields {
		if n := names(f, rest); n != "" {
			fields[i] = n
		}
	}
	return strings.Join(fields, ", ") + ": " + rest
}
