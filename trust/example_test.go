package trust_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/bolt"
	"github.com/berthreg/berth/registry"
	"github.com/berthreg/berth/storage/memory"
	"github.com/berthreg/berth/trust"
	"github.com/berthreg/berth/trust/cosign"
)

// With content trust on, an unsigned image is refused to a puller.
func Example() {
	dir, _ := os.MkdirTemp("", "trust-example")
	defer os.RemoveAll(dir)
	store, err := bolt.Open(filepath.Join(dir, "meta.db"))
	if err != nil {
		panic(err)
	}
	defer store.Close()
	ctx := context.Background()
	if err := store.Update(ctx, func(tx meta.Tx) error {
		return accounts.Projects.In(tx).Put(accounts.Project{Name: "team"})
	}); err != nil {
		panic(err)
	}
	verifier, err := cosign.NewVerifier() // cosign.WithTrustedRoot for keyless signatures
	if err != nil {
		panic(err)
	}
	svc, err := trust.New(store, memory.New(), verifier)
	if err != nil {
		panic(err)
	}
	const key = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAECdT3CRa6OpDYcCb7DJXkQyDDm+2u
P36kxOfbaIREByaRuhcVg2OZs221uwOb6rgq22nE2rt+Nw2qY9nIWDypHQ==
-----END PUBLIC KEY-----
`
	if _, err := svc.SetSettings(ctx, trust.Settings{Project: "team", Enabled: true, Keys: []string{key}}); err != nil {
		panic(err)
	}
	m := meta.Manifest{Digest: digest.FromString("unsigned image")}
	r := httptest.NewRequest(http.MethodGet, "/v2/team/app/manifests/v1", nil)
	err = svc.Hooks(nil).BeforePull(ctx, &registry.Event{Action: registry.ActionPullManifest, Repository: "team/app", Manifest: &m, Request: r})
	fmt.Println(err)
	// Output:
	// PROJECTPOLICYVIOLATION: content trust: team/app@sha256:7ca00ca4e3fbe20db2acf5d7c920d35309d07d70496f0380451362768ec807f5 is not signed by a key or identity project team trusts: it has no cosign signature
}
