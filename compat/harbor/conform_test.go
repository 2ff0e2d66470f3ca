package harbor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/berthreg/berth/api"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// conformingTransport checks every request a client sends and every
// answer it gets against an OpenAPI document: the operation must be
// documented, the request's parameters and body must match it, and the
// answer's status, headers and body must be ones the document describes
// for that operation, with no field the document does not name.
type conformingTransport struct {
	errorf func(format string, args ...any)
	router routers.Router
	next   http.RoundTripper

	mu   sync.Mutex
	seen map[string]bool // the operations called, "METHOD /path"
}

// newConformingTransport routes with raw, the document of the server at
// host, and reports mismatches with errorf.
func newConformingTransport(t *testing.T, raw []byte, host string, errorf func(string, ...any)) *conformingTransport {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatal(err)
	}
	doc.Servers = openapi3.Servers{{URL: "http://" + host + api.Prefix}}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatalf("routing the document: %v", err)
	}
	return &conformingTransport{errorf: errorf, router: router, next: http.DefaultTransport, seen: map[string]bool{}}
}

func (c *conformingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		var err error
		if reqBody, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
	}
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		c.errorf("%s %s is not documented: %v", req.Method, req.URL, err)
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
		return c.next.RoundTrip(req)
	}
	op := route.Method + " " + route.Path
	c.mu.Lock()
	c.seen[op] = true
	c.mu.Unlock()

	check := req.Clone(req.Context())
	check.Body = io.NopCloser(bytes.NewReader(reqBody))
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true, IncludeResponseStatus: true}
	in := &openapi3filter.RequestValidationInput{Request: check, PathParams: params, Route: route, Options: opts}
	if err := openapi3filter.ValidateRequest(req.Context(), in); err != nil {
		c.errorf("%s (%s %s): the request does not match the document: %v", op, req.Method, req.URL, err)
	}

	req.Body = io.NopCloser(bytes.NewReader(reqBody))
	resp, err := c.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Body: io.NopCloser(bytes.NewReader(body)), Options: opts,
	}
	if err := openapi3filter.ValidateResponse(req.Context(), out); err != nil {
		c.errorf("%s (%s %s): the answer %d %s does not match the document: %v", op, req.Method, req.URL, resp.StatusCode, body, err)
	} else if extra := undocumentedFields(route.Operation, resp, body); len(extra) > 0 {
		c.errorf("%s (%s %s): the answer %d has fields the document does not name: %q", op, req.Method, req.URL, resp.StatusCode, extra)
	}
	return resp, nil
}

// operations returns the documented operations called so far, sorted.
func (c *conformingTransport) operations() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Sorted(maps.Keys(c.seen))
}

// undocumentedFields returns the JSON paths of the fields of a JSON
// answer that its documented schema does not name (kin-openapi accepts
// any extra field of an object whose schema does not forbid them).
func undocumentedFields(op *openapi3.Operation, resp *http.Response, body []byte) []string {
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt != "application/json" || len(body) == 0 {
		return nil
	}
	r := op.Responses.Status(resp.StatusCode)
	if r == nil {
		r = op.Responses.Default()
	}
	if r == nil || r.Value == nil || r.Value.Content.Get(mt) == nil || r.Value.Content.Get(mt).Schema == nil {
		return nil
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return []string{"(not JSON)"}
	}
	var extra []string
	walkUndocumented(r.Value.Content.Get(mt).Schema.Value, v, "$", &extra)
	return extra
}

// walkUndocumented appends to extra the paths under at of v's object
// keys that s (with its allOf, anyOf and oneOf) does not name.
func walkUndocumented(s *openapi3.Schema, v any, at string, extra *[]string) {
	if s == nil {
		return
	}
	switch v := v.(type) {
	case []any:
		if s.Items != nil {
			for i, e := range v {
				walkUndocumented(s.Items.Value, e, fmt.Sprintf("%s[%d]", at, i), extra)
			}
		}
	case map[string]any:
		props := map[string]*openapi3.Schema{}
		var additional *openapi3.Schema
		open := false
		var collect func(s *openapi3.Schema)
		collect = func(s *openapi3.Schema) {
			for name, p := range s.Properties {
				props[name] = p.Value
			}
			switch {
			case s.AdditionalProperties.Schema != nil:
				additional = s.AdditionalProperties.Schema.Value
			case s.AdditionalProperties.Has != nil && *s.AdditionalProperties.Has:
				open = true
			}
			for _, refs := range []openapi3.SchemaRefs{s.AllOf, s.AnyOf, s.OneOf} {
				for _, r := range refs {
					collect(r.Value)
				}
			}
		}
		collect(s)
		if len(props) == 0 && additional == nil {
			open = true // a free-form object
		}
		for _, k := range slices.Sorted(maps.Keys(v)) {
			switch p, ok := props[k]; {
			case ok:
				walkUndocumented(p, v[k], at+"."+k, extra)
			case additional != nil:
				walkUndocumented(additional, v[k], at+"."+k, extra)
			case !open:
				*extra = append(*extra, at+"."+k)
			}
		}
	}
}

// TestConformingTransportCatches checks that the transport reports an
// answer of the wrong type, one lacking a required field, one with an
// undocumented field or status, and an undocumented operation, so that
// the client test passing through it means something.
func TestConformingTransportCatches(t *testing.T) {
	raw := openAPIDocument(t, serve(t))
	for name, answer := range map[string]struct {
		path, status, body string
	}{
		"wrong type":          {"/projects/team", "200", `{"name":"team","creation_time":"2026-01-02T03:04:05Z","update_time":"2026-01-02T03:04:05Z","metadata":{"public":"false"},"current_user_role_id":"one"}`},
		"required missing":    {"/projects/team/repositories/app/artifacts/v1/tags", "200", `[{"push_time":"2026-01-02T03:04:05Z","immutable":false}]`},
		"undocumented field":  {"/projects/team/repositories/app", "200", `{"name":"team/app","description":"","artifact_count":1,"pull_count":0,"creation_time":"2026-01-02T03:04:05Z","update_time":"2026-01-02T03:04:05Z","colour":"red"}`},
		"undocumented status": {"/projects/team", "418", `{}`},
		"undocumented path":   {"/nowhere", "200", `{}`},
	} {
		fake := &fakeServer{status: answer.status, body: answer.body}
		var reported []string
		ct := newConformingTransport(t, raw, "berth.test", func(f string, a ...any) { reported = append(reported, fmt.Sprintf(f, a...)) })
		ct.next = fake
		req, err := http.NewRequest("GET", "http://berth.test"+api.Prefix+answer.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := ct.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if len(reported) == 0 {
			t.Errorf("%s: not reported", name)
		}
	}
}

// fakeServer answers every request with one status and JSON body.
type fakeServer struct{ status, body string }

func (f *fakeServer) RoundTrip(req *http.Request) (*http.Response, error) {
	var code int
	if _, err := fmt.Sscan(f.status, &code); err != nil {
		return nil, err
	}
	return &http.Response{
		StatusCode: code, Status: f.status, Request: req,
		Header: http.Header{"Content-Type": {"application/json"}},
		Body:   io.NopCloser(bytes.NewReader([]byte(f.body))),
	}, nil
}
