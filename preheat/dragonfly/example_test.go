package dragonfly_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/berthreg/berth/preheat"
	"github.com/berthreg/berth/preheat/dragonfly"
)

// A provider for the Dragonfly manager at 127.0.0.1:8080 with a personal
// access token of the job scope. Against a running manager, Preheat
// returns a PENDING job whose ID Job then polls until SUCCESS or FAIL;
// here the image's scope is one Dragonfly has no match for, so the job
// fails at once, without a request and without an ID. New refuses an
// OAUTH endpoint without a token.
func Example() {
	ctx := context.Background()
	p, err := dragonfly.New(preheat.Endpoint{
		URL:      "http://127.0.0.1:8080",
		AuthMode: preheat.AuthOAuth,
		AuthInfo: map[string]string{"token": "a-personal-access-token"},
	})
	if err != nil {
		panic(err)
	}
	job, err := p.Preheat(ctx, preheat.Image{
		Repository: "library/app",
		Tag:        "v1",
		URL:        "https://registry.example/v2/library/app/manifests/v1",
		Headers:    map[string]string{"Authorization": "Bearer a-pull-token"},
		Scope:      "every_node_twice",
	})
	fmt.Printf("%s %q %v\n", job.Status, job.ID, err)
	fmt.Println(job.Message)

	_, err = p.Job(ctx, "not-a-job-id")
	fmt.Println(errors.Is(err, dragonfly.ErrUnknownJob))

	_, err = dragonfly.New(preheat.Endpoint{URL: "http://127.0.0.1:8080", AuthMode: preheat.AuthOAuth})
	fmt.Println(errors.Is(err, preheat.ErrBadEndpoint))
	// Output:
	// FAIL "" <nil>
	// Dragonfly has no preheat scope for "every_node_twice"
	// true
	// true
}
