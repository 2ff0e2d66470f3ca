// Package registrytest starts throw-away OCI registries for Go tests: an
// in-memory Berth registry on an httptest server, torn down by t.Cleanup.
//
//	reg := registrytest.New(t)
//	ref := reg.Host + "/test/image:latest" // push and pull with any client
package registrytest
