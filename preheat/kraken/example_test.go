package kraken_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/berthreg/berth/preheat"
	"github.com/berthreg/berth/preheat/kraken"
)

// A provider for the Kraken proxy whose server port is 127.0.0.1:8081.
// Preheat posts the push notification there and returns a final job
// (against a running Kraken: SUCCESS once the proxy took it); here the
// image's digest is one Kraken cannot parse, so the job fails at once,
// without a request, and Job reads it back.
func Example() {
	ctx := context.Background()
	p, err := kraken.New(preheat.Endpoint{URL: "http://127.0.0.1:8081", AuthMode: preheat.AuthNone})
	if err != nil {
		panic(err)
	}
	job, err := p.Preheat(ctx, preheat.Image{
		Repository: "library/app",
		Tag:        "v1",
		Digest:     "sha512:0123",
		URL:        "https://registry.example/v2/library/app/manifests/v1",
	})
	fmt.Println(job.Status, err)
	fmt.Println(job.Message)

	again, err := p.Job(ctx, job.ID)
	fmt.Println(again == job, err)

	_, err = p.Job(ctx, "an id from elsewhere")
	fmt.Println(errors.Is(err, kraken.ErrUnknownJob))

	_, err = kraken.New(preheat.Endpoint{URL: "ftp://127.0.0.1:8081"})
	fmt.Println(errors.Is(err, preheat.ErrBadEndpoint))
	// Output:
	// FAIL <nil>
	// kraken: Kraken preheats by sha256 digest only, got "sha512:0123"
	// true <nil>
	// true
	// true
}
