package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// TestOpenAPIMatchesRoutes checks that the served OpenAPI document is valid
// JSON of version 3 and describes exactly the routes the handler serves.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	url, _ := newAPI(t)
	resp, body := client{t: t, url: url}.want("GET", "/openapi.json", "", http.StatusOK, "")
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("the document is not JSON: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	h := New(nil, nil, nil, nil)
	served := slices.Clone(h.routes)
	slices.Sort(served)
	slices.Sort(documented)
	if !slices.Equal(served, documented) {
		t.Errorf("routes and document differ:\n served     %q\n documented %q", served, documented)
	}
}

// TestOpenAPIPartsMerge checks that a part's paths and components join
// the base document and that defining one twice is refused.
func TestOpenAPIPartsMerge(t *testing.T) {
	base := `{"openapi":"3.0.3","paths":{"/a":{"get":{}}},"components":{"schemas":{"A":{}}}}`
	good := fstest.MapFS{
		"openapi/base.json": {Data: []byte(base)},
		"openapi/b.json":    {Data: []byte(`{"paths":{"/a":{"post":{}},"/b":{"get":{}}},"components":{"schemas":{"B":{}}}}`)},
	}
	raw, err := mergeOpenAPI(good)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths      map[string]map[string]any `json:"paths"`
		Components struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Paths["/a"]) != 2 || len(doc.Paths["/b"]) != 1 || len(doc.Components.Schemas) != 2 {
		t.Errorf("merged %s", raw)
	}
	for name, part := range map[string]string{
		"operation": `{"paths":{"/a":{"get":{}}}}`,
		"schema":    `{"components":{"schemas":{"A":{}}}}`,
	} {
		bad := fstest.MapFS{"openapi/base.json": &fstest.MapFile{Data: []byte(base)}, "openapi/c.json": &fstest.MapFile{Data: []byte(part)}}
		if _, err := mergeOpenAPI(bad); err == nil || !strings.Contains(err.Error(), "twice") {
			t.Errorf("%s defined twice: err = %v", name, err)
		}
	}
}
