package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/generation"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/netguard"
	"github.com/berthreg/berth/registry"
	"github.com/berthreg/berth/registry/inproc"
	"github.com/berthreg/berth/scan/engine"
)

// builtinScanner is the name of the scanner compiled into the server.
const builtinScanner = "builtin"

// scannerSubject starts the token subject of scanner pulls ("berth-scanner:"
// and the scanner's name): no account can be named so, since basic
// credentials cannot carry a colon in the name.
const scannerSubject = "berth-scanner:"

// scanPrincipal is who the scan engine acts as on this registry to store
// reports (and who the built-in scanner pulls as without auth).
var scanPrincipal = auth.Principal{Name: "scanner", Kind: auth.User, Admin: true}

// scanGate is the pull gate of project vulnerability policies, keeping
// the projects' settings in step through watcher; scanners' own pulls
// pass.
func scanGate(store meta.Store, watcher *generation.Watcher) (*engine.Gate, error) {
	return engine.NewGate(store, engine.WithGateWatcher(watcher), engine.WithExempt(scannerPull))
}

// scannerPull reports a scanner's own pull (an adapter's token, or the
// built-in scanner in process), which the pull gates let through.
func scannerPull(_ context.Context, ev *registry.Event) bool {
	if strings.HasPrefix(ev.Operator, scannerSubject) {
		return true
	}
	p, ok := auth.PrincipalFrom(ev.Request.Context())
	return ok && p.Name == scanPrincipal.Name && ev.Request.Header.Get("Authorization") == ""
}

// scanning is the server's scan engine and its built-in scanner.
type scanning struct {
	engine  *engine.Engine
	builtin io.Closer // stops the built-in scanner (nil: none)
}

// setupScanning builds the scan engine over store with the built-in
// scanner newBuiltin makes (nil: none), registered with runner; local is the registry handler the
// engine and the built-in scanner reach in process, credentials (nil
// without auth) makes a scanner's pull token, outbound checks the
// addresses of registered adapters; extra options (the metrics'
// observer) come last.
func setupScanning(ctx context.Context, cfg Config, store meta.Store, queue *jobs.Queue, runner *jobs.Runner, local http.Handler,
	credentials func(ctx context.Context, scanner, repo string) (string, error), newBuiltin BuiltinScanner,
	outbound *netguard.Guard, logger *slog.Logger, extra ...engine.Option) (*scanning, error) {
	sc := cfg.Scan
	host := cfg.Events.ExternalHost
	if host == "" {
		host = cfg.Addr
	}
	regURL := sc.RegistryURL
	if regURL == "" {
		regURL = "http://" + host
	}
	asScanner := func(ctx context.Context) context.Context { return auth.WithPrincipal(ctx, scanPrincipal) }
	s := &scanning{}
	opts := []engine.Option{engine.WithQueue(queue),
		engine.WithRegistryURL(regURL, "http://"+cfg.Addr, "http://"+inproc.Host),
		engine.WithAutoScan(sc.AutoScan), engine.WithTimeout(sc.Timeout), engine.WithLogger(logger), engine.WithGuard(outbound),
		engine.WithLocal(inproc.New(local, inproc.WithContext(asScanner)))}
	if credentials != nil {
		opts = append(opts, engine.WithCredentials(credentials))
	}
	if newBuiltin != nil && (sc.Builtin == nil || *sc.Builtin) {
		// The built-in scanner pulls in this process (blob redirects to
		// object storage over the network), with the pull token the
		// engine hands it (or as the scan principal without auth).
		sc, closer, err := newBuiltin(sc.OSVDB, sc.Concurrency, inproc.New(local, inproc.WithContext(asScanner)), logger)
		if err != nil {
			return nil, err
		}
		s.builtin = closer
		opts = append(opts, engine.WithBuiltin(builtinScanner, sc))
	}
	var err error
	if s.engine, err = engine.New(store, append(opts, extra...)...); err != nil {
		s.close()
		return nil, fmt.Errorf("scan: %w", err)
	}
	s.engine.Register(runner, jobs.KindOptions{Limit: sc.Concurrency, Backoff: 5 * time.Second, MaxBackoff: time.Minute})
	return s, nil
}

// close stops the built-in scanner's background scans.
func (s *scanning) close() {
	if s != nil && s.builtin != nil {
		_ = s.builtin.Close()
	}
}
