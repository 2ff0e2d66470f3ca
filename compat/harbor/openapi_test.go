package harbor

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/berthreg/berth/api"
	"github.com/getkin/kin-openapi/openapi3"
)

// openAPIDocument fetches the merged OpenAPI document the server at host
// serves, anonymously, as a client would.
func openAPIDocument(t *testing.T, host string) []byte {
	t.Helper()
	resp, err := http.Get("http://" + host + api.Prefix + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET openapi.json: %s %s", resp.Status, raw)
	}
	return raw
}

// validate loads raw with kin-openapi and validates it strictly:
// unknown fields, unknown schema formats, extensions beside a $ref,
// defaults and examples that do not match their schemas, unresolved or
// external references and operations that do not define exactly their
// path's parameters are all errors. It returns every problem found.
func validate(t *testing.T, raw []byte) []error {
	t.Helper()
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	doc, err := loader.LoadFromData(raw)
	if err != nil {
		return []error{fmt.Errorf("loading: %w", err)}
	}
	err = doc.Validate(t.Context(),
		openapi3.EnableMultiError(),
		openapi3.EnableSchemaFormatValidation(),
		openapi3.EnableSchemaPatternValidation(),
		openapi3.EnableSchemaDefaultsValidation(),
		openapi3.EnableExamplesValidation(),
		openapi3.ProhibitExtensionsWithRef(),
	)
	var me openapi3.MultiError
	switch {
	case err == nil:
		return pathParameterProblems(doc)
	case errors.As(err, &me):
		return me
	default:
		return []error{err}
	}
}

// pathParam matches a {param} of a path template.
var pathParam = regexp.MustCompile(`\{([^{}/]+)\}`)

// pathParameterProblems checks that every operation declares each
// {param} of its path as a required path parameter (on the operation or
// on its path item) and no path parameter its path does not have: a
// generated client builds its URLs from these.
func pathParameterProblems(doc *openapi3.T) []error {
	var problems []error
	for path, item := range doc.Paths.Map() {
		var want []string
		for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
			want = append(want, m[1])
		}
		slices.Sort(want)
		for method, op := range item.Operations() {
			declared := map[string]*openapi3.Parameter{}
			for _, params := range []openapi3.Parameters{item.Parameters, op.Parameters} {
				for _, ref := range params {
					if p := ref.Value; p != nil && p.In == openapi3.ParameterInPath {
						declared[p.Name] = p
					}
				}
			}
			var got []string
			for name, p := range declared {
				got = append(got, name)
				if !p.Required {
					problems = append(problems, fmt.Errorf("%s %s: path parameter %q is not required", method, path, name))
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				problems = append(problems, fmt.Errorf("%s %s declares path parameters %q, its path has %q", method, path, got, want))
			}
		}
	}
	return problems
}

// TestOpenAPIValidates validates the document a whole server serves.
func TestOpenAPIValidates(t *testing.T) {
	raw := openAPIDocument(t, serve(t))
	for _, err := range validate(t, raw) {
		t.Errorf("invalid: %v", err)
	}
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.0.") || len(doc.Paths) == 0 {
		t.Errorf("openapi %q with %d paths", doc.OpenAPI, len(doc.Paths))
	}
}

// TestOpenAPIValidatorCatches checks that validate finds what it is
// there to find, so that TestOpenAPIValidates passing means something:
// each change breaks a valid document in one way.
func TestOpenAPIValidatorCatches(t *testing.T) {
	raw := openAPIDocument(t, serve(t))
	for name, change := range map[string]func(doc map[string]any){
		"undeclared path parameter": func(doc map[string]any) {
			delete(operation(doc, "/projects/{project}", "get"), "parameters")
		},
		"path parameter declared in the item only, not required": func(doc map[string]any) {
			op := operation(doc, "/projects/{project}", "get")
			delete(op, "parameters")
			doc["paths"].(map[string]any)["/projects/{project}"].(map[string]any)["parameters"] = []any{
				map[string]any{"name": "project", "in": "path", "schema": map[string]any{"type": "string"}},
			}
		},
		"parameter of another path": func(doc map[string]any) {
			op := operation(doc, "/projects", "get")
			op["parameters"] = append(op["parameters"].([]any),
				map[string]any{"name": "project", "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		},
		"unknown type": func(doc map[string]any) {
			schema(doc, "Project")["properties"].(map[string]any)["name"] = map[string]any{"type": "strng"}
		},
		"unknown format": func(doc map[string]any) {
			schema(doc, "Project")["properties"].(map[string]any)["name"] = map[string]any{"type": "string", "format": "colour"}
		},
		"dangling reference": func(doc map[string]any) {
			schema(doc, "Project")["properties"].(map[string]any)["owner"] = map[string]any{"$ref": "#/components/schemas/Nobody"}
		},
		"unknown field": func(doc map[string]any) {
			operation(doc, "/projects", "get")["sumary"] = "typo"
		},
		"default outside its schema": func(doc map[string]any) {
			schema(doc, "Project")["properties"].(map[string]any)["name"] = map[string]any{"type": "integer", "default": "x"}
		},
	} {
		var doc map[string]any
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		change(doc)
		broken, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		if len(validate(t, broken)) == 0 {
			t.Errorf("%s: the validator did not notice", name)
		}
	}
}

// operation returns doc's operation method of path.
func operation(doc map[string]any, path, method string) map[string]any {
	return doc["paths"].(map[string]any)[path].(map[string]any)[method].(map[string]any)
}

// schema returns doc's component schema name.
func schema(doc map[string]any, name string) map[string]any {
	return doc["components"].(map[string]any)["schemas"].(map[string]any)[name].(map[string]any)
}
