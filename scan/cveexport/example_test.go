package cveexport_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta/bolt"
	"github.com/berthreg/berth/scan/cveexport"
)

// An export is asked for by a signed-in caller; the service checks the
// request as the admin API does, naming the field at fault, and queues a
// job that a runner with the service's handler (Register) runs.
func Example() {
	dir, _ := os.MkdirTemp("", "berth-example")
	defer os.RemoveAll(dir)
	store, err := bolt.Open(filepath.Join(dir, "meta.db"), bolt.NoSync())
	if err != nil {
		panic(err)
	}
	defer store.Close()
	ctx := context.Background()
	m, err := accounts.New(ctx, store)
	if err != nil {
		panic(err)
	}
	queue, err := jobs.NewQueue(store)
	if err != nil {
		panic(err)
	}
	exports, err := cveexport.New(store, queue, m, m.Authorizer(), cveexport.WithPrincipals(m.Principal))
	if err != nil {
		panic(err)
	}
	admin := auth.Principal{Name: "admin", Kind: auth.User, Admin: true}
	_, err = exports.Start(ctx, admin, cveexport.Request{Repositories: "team/[a"})
	fmt.Println(err, errors.Is(err, cveexport.ErrInvalid))
	ex, err := exports.Start(ctx, admin, cveexport.Request{JobName: "weekly", CVEs: "CVE-2023-5363"})
	if err != nil {
		panic(err)
	}
	fmt.Println(ex.Status, ex.FilePresent())
	fmt.Println(strings.Join(cveexport.Header[:9], ","))
	// Output:
	// repositories: "team/[a" is not a valid pattern true
	// Pending false
	// Project,Repository,Artifact Digest,Tags,CVE,Package,Current Version,Fixed in version,Severity
}
