// Package testscan makes scanner adapter servers and clients for tests,
// failing the test on a constructor error.
package testscan

import (
	"testing"

	"github.com/berthreg/berth/scan"
	"github.com/berthreg/berth/scan/pluggable"
)

// Server returns pluggable.NewServer(s, opts...), failing t on an error.
func Server(t testing.TB, s scan.Scanner, opts ...pluggable.ServerOption) *pluggable.Server {
	t.Helper()
	srv, err := pluggable.NewServer(s, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

// Client returns pluggable.NewClient(url, opts...), failing t on an
// error.
func Client(t testing.TB, url string, opts ...pluggable.ClientOption) *pluggable.Client {
	t.Helper()
	c, err := pluggable.NewClient(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
