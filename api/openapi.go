package api

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sync"
)

// openAPIFiles holds the API's OpenAPI 3 document in parts: base.json
// (info, security, and the older endpoints) and one file per feature
// with its paths and components. Each part is {"paths":{…},
// "components":{"schemas":{…},"parameters":{…}}}; openAPIDoc merges them.
//
//go:embed openapi/*.json
var openAPIFiles embed.FS

// openAPIDoc is the merged document, served at Prefix+"/openapi.json".
var openAPIDoc = sync.OnceValues(func() ([]byte, error) { return mergeOpenAPI(openAPIFiles) })

// mergeOpenAPI merges the parts in fsys's openapi directory onto
// base.json. A path operation or component defined twice is an error.
func mergeOpenAPI(fsys fs.FS) ([]byte, error) {
	read := func(name string) (map[string]any, error) {
		raw, err := fs.ReadFile(fsys, path.Join("openapi", name))
		if err != nil {
			return nil, err
		}
		var doc map[string]any
		if err := json.Unmarshal(raw, &doc); err != nil {
			return nil, fmt.Errorf("openapi/%s: %w", name, err)
		}
		return doc, nil
	}
	doc, err := read("base.json")
	if err != nil {
		return nil, err
	}
	entries, err := fs.ReadDir(fsys, "openapi")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.Name() == "base.json" {
			continue
		}
		part, err := read(e.Name())
		if err != nil {
			return nil, err
		}
		for _, key := range []string{"paths", "components"} {
			if err := mergeTwoLevels(doc, part, key, e.Name()); err != nil {
				return nil, err
			}
		}
	}
	return json.Marshal(doc)
}

// child returns m[key] as an object, creating it when missing.
func child(m map[string]any, key string) map[string]any {
	c, ok := m[key].(map[string]any)
	if !ok {
		c = map[string]any{}
		m[key] = c
	}
	return c
}

// mergeTwoLevels copies src[key][a][b] into dst[key][a][b]: for
// "paths" a path, then a method; for "components" a kind, then a name.
// An entry present in both is an error naming file.
func mergeTwoLevels(dst, src map[string]any, key, file string) error {
	from, _ := src[key].(map[string]any)
	into := child(dst, key)
	for a, v := range from {
		inner, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("openapi/%s: %s %q is not an object", file, key, a)
		}
		level := child(into, a)
		for b, def := range inner {
			if _, dup := level[b]; dup {
				return fmt.Errorf("openapi/%s: %s %s %s defined twice", file, key, a, b)
			}
			level[b] = def
		}
	}
	return nil
}
