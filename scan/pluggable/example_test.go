package pluggable_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/berthreg/berth/scan"
	"github.com/berthreg/berth/scan/pluggable"
)

// fixed is a scanner that knows one thing about itself.
type fixed struct{}

func (fixed) Metadata(context.Context) (scan.Metadata, error) {
	return scan.Metadata{Scanner: scan.Info{Name: "example", Vendor: "Berth", Version: "1.0"},
		Capabilities: []scan.Capability{{ConsumesMimeTypes: []string{scan.MimeOCIManifest}, ProducesMimeTypes: []string{scan.MimeVulnReport}}}}, nil
}
func (fixed) Scan(context.Context, scan.Request) (string, error) { return "1", nil }
func (fixed) Report(context.Context, string, string, string) ([]byte, error) {
	return []byte(`{"vulnerabilities":[]}`), nil
}

// Example serves a scanner as a Harbor scanner adapter and reaches it as
// Harbor would.
func Example() {
	adapter, err := pluggable.NewServer(fixed{})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(adapter)
	defer srv.Close()
	client, err := pluggable.NewClient(srv.URL)
	if err != nil {
		panic(err)
	}
	m, err := client.Metadata(context.Background())
	fmt.Println(m.Scanner.Name, m.Produces(scan.MimeVulnReport), err)
	// Output: example true <nil>
}
