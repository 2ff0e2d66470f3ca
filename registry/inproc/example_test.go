package inproc_test

import (
	"fmt"
	"io"
	"net/http"

	"github.com/berthreg/berth/registry/inproc"
)

// Reach a handler through an http.Client without listening on a socket.
func Example() {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "served %s in process", r.URL.Path)
	})
	client := &http.Client{Transport: inproc.New(h)}
	resp, err := client.Get("http://" + inproc.Host + "/v2/")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(b))
	// Output: 200 served /v2/ in process
}
