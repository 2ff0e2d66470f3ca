// Package harbor checks Berth's admin API against Harbor's own tooling:
// its OpenAPI document must pass a real OpenAPI 3 validator (kin-openapi),
// and Harbor's official Go client (github.com/goharbor/go-client,
// generated from Harbor's swagger) must list and read Berth's projects,
// repositories, artifacts and tags.
//
// It is a module of its own so that the validator and the client, both
// test-only dependencies, stay out of the main module's go.mod. Run it
// from this directory with go test ./...
package harbor
