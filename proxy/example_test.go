package proxy_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/bolt"
	"github.com/berthreg/berth/netguard"
	"github.com/berthreg/berth/proxy"
	"github.com/berthreg/berth/registry"
	"github.com/berthreg/berth/registry/inproc"
	"github.com/berthreg/berth/registrytest"
	"github.com/berthreg/berth/replication"
	"github.com/berthreg/berth/storage/memory"
)

// A project "hub" caches another registry: an image pulled through it is
// the upstream's.
func Example() {
	upstream, err := registrytest.Start()
	if err != nil {
		panic(err)
	}
	defer upstream.Close()
	img, _ := random.Image(1024, 1)
	up, _ := name.ParseReference(upstream.Host+"/library/app:v1", name.Insecure)
	if err := remote.Write(up, img); err != nil {
		panic(err)
	}

	dir, _ := os.MkdirTemp("", "proxy-example")
	defer os.RemoveAll(dir)
	store, err := bolt.Open(filepath.Join(dir, "meta.db"))
	if err != nil {
		panic(err)
	}
	defer store.Close()
	ctx := context.Background()
	if err := store.Update(ctx, func(tx meta.Tx) error {
		if err := accounts.Projects.In(tx).Put(accounts.Project{Name: "hub"}); err != nil {
			return err
		}
		return replication.Registries.In(tx).Put(replication.Registry{Name: "upstream", URL: upstream.URL})
	}); err != nil {
		panic(err)
	}
	// The Service writes what it fetches into the registry it serves.
	var local http.Handler
	loopback := netguard.New(netguard.AllowNetworks(netip.MustParsePrefix("127.0.0.0/8")))
	svc, err := proxy.New(store, inproc.New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { local.ServeHTTP(w, r) })),
		proxy.WithOutboundGuard(loopback), proxy.WithSpoolDir(dir))
	if err != nil {
		panic(err)
	}
	defer svc.Close()
	local, err = registry.New(memory.New(), store, registry.WithUpstream(svc), registry.WithHooks(svc.Hooks()))
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(local)
	defer srv.Close()
	if _, err := svc.SetSettings(ctx, proxy.Settings{Project: "hub", Upstreams: []string{"upstream"}}); err != nil {
		panic(err)
	}

	cached, _ := name.ParseReference(strings.TrimPrefix(srv.URL, "http://")+"/hub/library/app:v1", name.Insecure)
	pulled, err := remote.Image(cached)
	if err != nil {
		panic(err)
	}
	want, _ := img.Digest()
	got, _ := pulled.Digest()
	fmt.Println(got == want)
	// Output: true
}
