package s3proxy_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/berthreg/berth/internal/s3proxy"
)

// Example counts an upload's bytes and injects one throttling answer. The
// target here is a stand-in that accepts everything; tests point the proxy
// at MinIO.
func Example() {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	defer target.Close()
	p, err := s3proxy.Start(target.URL)
	if err != nil {
		panic(err)
	}
	defer p.Close()

	put := func() int {
		req, _ := http.NewRequest(http.MethodPut, p.URL+"/bucket/key", strings.NewReader("hello"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	p.SetFault(func(op string, r *http.Request) *s3proxy.Fault {
		return &s3proxy.Fault{Status: http.StatusTooManyRequests, Code: "SlowDown"}
	})
	fmt.Println(put())
	p.SetFault(nil)
	fmt.Println(put())
	c := p.Counts()[s3proxy.OpPutObject]
	fmt.Println(c.Requests, c.Faults, c.Sent)
	// Output:
	// 429
	// 200
	// 1 1 5
}
