package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/netguard"
	"github.com/berthreg/berth/proxy"
	"github.com/berthreg/berth/registry/inproc"
)

// proxyPrincipal is who the proxy cache's own writes into this registry
// are made as.
var proxyPrincipal = auth.Principal{Name: "proxy-cache", Kind: auth.User, Admin: true}

// lateHandler reaches a handler built after what needs to reach it: the
// proxy cache writes into the registry it is the upstream of. h is set
// once, before anything is served.
type lateHandler struct{ h http.Handler }

func (l *lateHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) { l.h.ServeHTTP(w, r) }

// openProxy is the pull-through cache service over store, writing into
// the registry local will reach, fetching through outbound, spooling
// blobs under the data directory.
func openProxy(cfg Config, store meta.Store, local *lateHandler, outbound *netguard.Guard, logger *slog.Logger) (*proxy.Service, error) {
	spool := filepath.Join(cfg.DataDir, "proxy-spool")
	if err := os.RemoveAll(spool); err != nil { // what a stopped process left
		return nil, fmt.Errorf("proxy: %w", err)
	}
	if err := os.MkdirAll(spool, 0o700); err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	rt := inproc.New(local, inproc.WithContext(func(ctx context.Context) context.Context {
		return auth.WithPrincipal(ctx, proxyPrincipal)
	}))
	return proxy.New(store, rt, proxy.WithSpoolDir(spool), proxy.WithOutboundGuard(outbound), proxy.WithLogger(logger))
}
