package api

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/internal/harborq"
	"github.com/berthreg/berth/internal/outage"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/preheat"
)

// WithPreheat serves Harbor's P2P preheat API through s, which holds its
// rules: the providers and their instances (/p2p/preheat/…, system
// administrators) and a project's preheat policies, executions, tasks
// and task logs (/projects/{project}/preheat/…, its project
// administrators). Without it those endpoints answer 501.
func WithPreheat(s *preheat.Service) Option { return func(h *Handler) { h.preheat = s } }

// preheatRoutes registers the preheat endpoints (Harbor's paths; the
// project is named by {project}, as Berth's other project paths do).
func (h *Handler) preheatRoutes() {
	h.preheatRoute("GET /p2p/preheat/providers", h.listPreheatProviders)
	h.preheatRoute("GET /p2p/preheat/instances", h.listPreheatInstances)
	h.preheatRoute("POST /p2p/preheat/instances", h.createPreheatInstance)
	h.preheatRoute("POST /p2p/preheat/instances/ping", h.pingPreheatInstance)
	const instance = "/p2p/preheat/instances/{preheat_instance_name}"
	h.preheatRoute("GET "+instance, h.getPreheatInstance)
	h.preheatRoute("PUT "+instance, h.updatePreheatInstance)
	h.preheatRoute("DELETE "+instance, h.deletePreheatInstance)
	h.preheatRoute("GET /projects/{project}/preheat/providers", h.listPreheatProvidersUnderProject)
	const policies = "/projects/{project}/preheat/policies"
	h.preheatRoute("GET "+policies, h.listPreheatPolicies)
	h.preheatRoute("POST "+policies, h.createPreheatPolicy)
	const policy = policies + "/{preheat_policy_name}"
	h.preheatRoute("GET "+policy, h.getPreheatPolicy)
	h.preheatRoute("PUT "+policy, h.updatePreheatPolicy)
	h.preheatRoute("POST "+policy, h.startPreheat)
	h.preheatRoute("DELETE "+policy, h.deletePreheatPolicy)
	h.preheatRoute("GET "+policy+"/executions", h.listPreheatExecutions)
	const execution = policy + "/executions/{execution_id}"
	h.preheatRoute("GET "+execution, h.getPreheatExecution)
	h.preheatRoute("PATCH "+execution, h.stopPreheatExecution)
	h.preheatRoute("GET "+execution+"/tasks", h.listPreheatTasks)
	h.preheatRoute("GET "+execution+"/tasks/{task_id}/logs", h.preheatTaskLog)
}

// preheatHandler is a preheat endpoint, given the preheat service.
type preheatHandler func(svc *preheat.Service, w http.ResponseWriter, r *http.Request, p auth.Principal) error

// preheatRoute registers a preheat endpoint: 501 without a preheat
// service, and the service's errors mapped to Harbor's answers.
func (h *Handler) preheatRoute(pattern string, fn preheatHandler) {
	h.route(pattern, func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		if h.preheat == nil {
			return &apiError{status: http.StatusNotImplemented, code: "NOT_IMPLEMENTED", msg: "this server runs no P2P preheat"}
		}
		return preheatError(fn(h.preheat, w, r, p))
	})
}

// preheatError maps the preheat service's errors to Harbor's answers
// (package preheat documents the statuses): a refused field is a 400
// naming it, a failed health check a 400, an anonymous caller 401, one
// without the right 403, a missing thing 404 with the service's message,
// a name taken, a thing in use or a bound reached 409. A backend outage
// and anything else go on to toAPIError.
func preheatError(err error) error {
	var fe *preheat.FieldError
	var ae *apiError
	switch {
	case err == nil || outage.Is(err) || errors.As(err, &ae):
		return err
	case errors.As(err, &fe):
		return badRequest("%s", fe.Error())
	case errors.Is(err, preheat.ErrPingFailed):
		return badRequest("%s", err.Error())
	case errors.Is(err, preheat.ErrUnauthenticated):
		return &apiError{status: http.StatusUnauthorized, code: codeUnauthorized, msg: err.Error()}
	case errors.Is(err, preheat.ErrForbidden):
		return &apiError{status: http.StatusForbidden, code: codeForbidden, msg: err.Error()}
	case errors.Is(err, preheat.ErrNotFound), errors.Is(err, meta.ErrNotFound):
		return notFound("%s", err.Error())
	case errors.Is(err, preheat.ErrInvalid):
		return badRequest("%s", err.Error())
	case errors.Is(err, preheat.ErrExists), errors.Is(err, preheat.ErrInUse), errors.Is(err, preheat.ErrLimit):
		return &apiError{status: http.StatusConflict, code: codeConflict, msg: err.Error()}
	}
	return err
}

// rightsFirst returns the refusal probe gives (the service checking
// whether the caller may act at all), else err: a request the caller may
// not make is 401, 403 or 404 whatever is wrong with its body.
func rightsFirst(probe func() error, err error) error {
	if perr := probe(); perr != nil {
		return perr
	}
	return err
}

// maxPreheatBody bounds a preheat request body, as decode does others.
const maxPreheatBody = 1 << 20

// decodePreheat reads r's JSON body into v, refusing unknown fields,
// values of the wrong type, data after the object and bodies over
// maxPreheatBody with a 400 naming the field ("body" when it is the body
// as a whole). An empty body is an error unless optional.
func decodePreheat(w http.ResponseWriter, r *http.Request, v any, optional bool) error {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPreheatBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return badRequest("body: larger than %d bytes", tooBig.Limit)
	case err != nil:
		return badRequest("body: %v", err)
	case optional && len(bytes.TrimSpace(raw)) == 0:
		return nil
	}
	return decodeStrict(raw, v, "body")
}

// decodeStrict decodes raw, one JSON value, into v: unknown fields and
// trailing data refused, every error a 400 naming the field (its path
// below where, which names raw itself).
func decodeStrict(raw []byte, v any, where string) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, err := dec.Token(); err != io.EOF {
			return badRequest("%s: data after the JSON value", where)
		}
		return nil
	}
	return badRequest("%s", jsonProblem(err, where))
}

// jsonProblem says what err, a decoding error of the value at where,
// is about, starting with the field ("where.field: …").
func jsonProblem(err error, where string) string {
	at := func(field string) string {
		switch {
		case field == "":
			return where
		case where == "body":
			return field
		}
		return where + "." + field
	}
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return where + ": required (a JSON value)"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return where + ": truncated JSON"
	case errors.As(err, &syntax):
		return fmt.Sprintf("%s: invalid JSON at byte %d: %v", where, syntax.Offset, syntax)
	case errors.As(err, &typ):
		return fmt.Sprintf("%s: %s is expected, not %s", at(typ.Field), jsonKind(typ.Type.String()), typ.Value)
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		field, _ := strconv.Unquote(name)
		if field == "" || strings.ContainsFunc(field, func(c rune) bool {
			return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-')
		}) {
			field = strconv.Quote(field) // named, however odd
		}
		return fmt.Sprintf("%s: unknown field", at(field))
	}
	return fmt.Sprintf("%s: %v", where, err)
}

// jsonKind names a Go type as JSON would, with its article.
func jsonKind(goType string) string {
	switch {
	case goType == "string":
		return "a string"
	case goType == "bool":
		return "a boolean"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "an integer (" + goType + ")"
	case strings.HasPrefix(goType, "float"):
		return "a number"
	case strings.HasPrefix(goType, "map["), strings.HasPrefix(goType, "struct"), strings.HasPrefix(goType, "api."):
		return "a JSON object"
	case strings.HasPrefix(goType, "[]"):
		return "a JSON list"
	case goType == "time.Time":
		return "an RFC 3339 time string"
	}
	return "a " + goType
}

// toPreheatPage is a request's page as the service's.
func toPreheatPage(pg page) preheat.Page {
	if pg.num-1 > math.MaxInt/pg.size {
		return preheat.Page{Offset: math.MaxInt, Limit: pg.size}
	}
	return preheat.Page{Offset: (pg.num - 1) * pg.size, Limit: pg.size}
}

// listFields are the fields a preheat list may be queried (q) and
// sorted by: each field's value is a string, an integer, a bool or a
// time.
type listFields[T any] map[string]func(T) any

// fieldText is a field's value as q compares it.
func fieldText(v any) string {
	if t, ok := v.(time.Time); ok {
		return t.UTC().Format(time.RFC3339)
	}
	return fmt.Sprint(v)
}

// compareFields orders two values of one field.
func compareFields(a, b any) int {
	switch a := a.(type) {
	case string:
		return cmp.Compare(a, b.(string))
	case int64:
		return cmp.Compare(a, b.(int64))
	case uint64:
		return cmp.Compare(a, b.(uint64))
	case int:
		return cmp.Compare(a, b.(int))
	case bool:
		return cmp.Compare(strconv.FormatBool(a), strconv.FormatBool(b.(bool)))
	case time.Time:
		return a.Compare(b.(time.Time))
	}
	return 0
}

// view reads a request's q and sort over fields: a filter and an
// ordering (nil when the request asks for neither). q is Harbor's query
// (see harborq), unescaped once more when it still holds escapes, as
// Harbor's own builder does (goharbor/harbor src/lib/q/builder.go,
// parseKeywords: its portal encodes q before its HTTP client encodes it
// again); sort is comma-separated field names, each with a leading '-'
// for descending order.
func (fields listFields[T]) view(r *http.Request) (keep func(T) bool, order func(a, b T) int, err error) {
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range fields {
			if !yield(k) {
				return
			}
		}
	})
	qv := r.URL.Query()
	if q := qv.Get("q"); q != "" {
		if strings.Contains(q, "%") {
			if unescaped, err := url.QueryUnescape(q); err == nil {
				q = unescaped
			}
		}
		parsed, err := harborq.Parse(q, keys...)
		if err != nil {
			return nil, nil, badRequest("%v", err)
		}
		keep = func(item T) bool {
			return parsed.Match(func(key string) string { return fieldText(fields[key](item)) })
		}
	}
	if s := qv.Get("sort"); s != "" {
		var by []func(a, b T) int
		for part := range strings.SplitSeq(s, ",") {
			name, desc := strings.CutPrefix(strings.TrimSpace(part), "-")
			get, ok := fields[name]
			if !ok {
				return nil, nil, badRequest("sort: %q is not one of %s (a leading '-' sorts descending)", part, strings.Join(keys, ", "))
			}
			by = append(by, func(a, b T) int {
				c := compareFields(get(a), get(b))
				if desc {
					return -c
				}
				return c
			})
		}
		order = func(a, b T) int {
			for _, f := range by {
				if c := f(a, b); c != 0 {
					return c
				}
			}
			return 0
		}
	}
	return keep, order, nil
}

// writePreheatList answers a preheat list: one page of what fetch
// returns (the service checks the caller's rights first, so a request
// the caller may not make is refused before its query is read), with
// the paging headers. Without q and sort the service pages; with them
// the whole list is read, filtered and sorted here (preheat lists are
// bounded: MaxInstances, MaxPoliciesPerProject, MaxExecutionsPerPolicy,
// MaxTasksPerExecution).
func writePreheatList[T, J any](w http.ResponseWriter, r *http.Request, fields listFields[T],
	fetch func(preheat.Page) ([]T, int, error), render func(T) J) error {
	pg, pgErr := parsePage(r)
	keep, order, viewErr := fields.view(r)
	if pgErr == nil && viewErr == nil && keep == nil && order == nil {
		items, total, err := fetch(toPreheatPage(pg))
		if err != nil {
			return err
		}
		out := make([]J, 0, len(items))
		for _, it := range items {
			out = append(out, render(it))
		}
		writeCounted(w, r, pg, out, total)
		return nil
	}
	items, _, err := fetch(preheat.Page{})
	switch {
	case err != nil:
		return err
	case pgErr != nil:
		return pgErr
	case viewErr != nil:
		return viewErr
	}
	if keep != nil {
		items = slices.DeleteFunc(items, func(it T) bool { return !keep(it) })
	}
	if order != nil {
		slices.SortStableFunc(items, order)
	}
	out := make([]J, 0, len(items))
	for _, it := range items {
		out = append(out, render(it))
	}
	writePage(w, r, pg, out)
	return nil
}
