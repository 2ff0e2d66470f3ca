package httplimit_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/berthreg/berth/registry/httplimit"
)

// A host wraps its handler: bodies that stall for a minute are cut, and at
// most 256 requests without credentials are in flight.
func Example() {
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	h = httplimit.CapAnonymous(h, 256, httplimit.WithCredentialCheck(httplimit.HasCredentials("sid")))
	h = httplimit.IdleBodies(h, time.Minute)
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ReadHeaderTimeout = 30 * time.Second
	srv.Start()
	defer srv.Close()

	resp, err := http.Get(srv.URL)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode)
	// Output: 200
}
