package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/netguard"
	"github.com/berthreg/berth/registry"
	"github.com/berthreg/berth/registry/inproc"
	"github.com/berthreg/berth/scan"
	"github.com/berthreg/berth/scan/builtin"
	"github.com/berthreg/berth/scan/engine"
	"github.com/berthreg/berth/scan/osv"
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

// scanGate is the pull gate of project vulnerability policies; scanners'
// own pulls pass.
func scanGate(store meta.Store) *engine.Gate {
	return &engine.Gate{Store: store, Exempt: func(ctx context.Context, ev *registry.Event) bool {
		if strings.HasPrefix(ev.Operator, scannerSubject) {
			return true
		}
		p, ok := auth.PrincipalFrom(ev.Request.Context())
		return ok && p.Name == scanPrincipal.Name && ev.Request.Header.Get("Authorization") == ""
	}}
}

// scanning is the server's scan engine and its built-in scanner.
type scanning struct {
	engine  *engine.Engine
	builtin *builtin.Scanner
}

// setupScanning builds the scan engine over store with the built-in
// scanner, registered with runner; local is the registry handler the
// engine and the built-in scanner reach in process, credentials (nil
// without auth) makes a scanner's pull token, outbound checks the
// addresses of registered adapters.
func setupScanning(ctx context.Context, cfg Config, store meta.Store, queue *jobs.Queue, runner *jobs.Runner, local http.Handler,
	credentials func(ctx context.Context, scanner, repo string) (string, error), outbound *netguard.Guard, logger *slog.Logger) (*scanning, error) {
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
	if sc.Builtin == nil || *sc.Builtin {
		var db *osv.DB
		if sc.OSVDB != "" {
			var err error
			if db, err = osv.Load(sc.OSVDB); err != nil {
				return nil, fmt.Errorf("config: scan.osvDB: %w", err)
			}
			logger.Info("scan: OSV database loaded", "path", sc.OSVDB, "advisories", db.Len())
		} else {
			logger.Warn("scan: no scan.osvDB: the built-in scanner makes SBOMs only")
		}
		// The built-in scanner pulls in this process (blob redirects to
		// object storage over the network), with the pull token the
		// engine hands it (or as the scan principal without auth).
		s.builtin = builtin.New(db, builtin.WithConcurrency(sc.Concurrency), builtin.WithLogger(logger),
			builtin.WithTransport(inproc.New(local, inproc.WithContext(asScanner))))
		var builtinSc scan.Scanner = s.builtin
		if db == nil {
			builtinSc = sbomOnly{s.builtin}
		}
		opts = append(opts, engine.WithBuiltin(builtinScanner, builtinSc))
	}
	var err error
	if s.engine, err = engine.New(store, opts...); err != nil {
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

// sbomOnly is a scanner without its vulnerability capability: the
// built-in scanner without a database, which would find nothing.
type sbomOnly struct{ scan.Scanner }

// Metadata drops the vulnerability capability.
func (s sbomOnly) Metadata(ctx context.Context) (scan.Metadata, error) {
	md, err := s.Scanner.Metadata(ctx)
	md.Capabilities = slices.DeleteFunc(md.Capabilities, func(c scan.Capability) bool {
		return c.Type == "" || c.Type == scan.CapabilityVulnerability
	})
	return md, err
}
