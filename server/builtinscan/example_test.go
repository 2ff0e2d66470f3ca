package builtinscan_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/berthreg/berth/server/builtinscan"
)

// Without an OSV database the built-in scanner offers SBOMs only.
func ExampleNew() {
	sc, closer, err := builtinscan.New("", 1, http.DefaultTransport, slog.New(slog.DiscardHandler))
	if err != nil {
		panic(err)
	}
	defer closer.Close()
	md, err := sc.Metadata(context.Background())
	if err != nil {
		panic(err)
	}
	for _, c := range md.Capabilities {
		fmt.Println(c.Type, c.ProducesMimeTypes)
	}
	// Output:
	// sbom [application/vnd.security.sbom.report+json; version=1.0]
}
