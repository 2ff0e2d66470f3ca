package main

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
	"github.com/berthreg/berth/replication"
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

// ScanConfig configures vulnerability scanning.
type ScanConfig struct {
	// OSVDB is the OSV database the built-in scanner matches packages
	// against: a directory of OSV JSON records or a zip archive of them,
	// as osv.dev publishes per ecosystem (BERTH_SCAN_OSV_DB). Without
	// one the built-in scanner makes SBOMs only.
	OSVDB string `yaml:"osvDB"`
	// Builtin registers the built-in scanner (BERTH_SCAN_BUILTIN,
	// default true).
	Builtin *bool `yaml:"builtin"`
	// AutoScan scans every pushed image, whatever the project's auto_scan
	// says (BERTH_SCAN_AUTO_SCAN).
	AutoScan bool `yaml:"autoScan"`
	// Concurrency caps the scans running at once (BERTH_SCAN_CONCURRENCY,
	// default 2).
	Concurrency int `yaml:"concurrency"`
	// Timeout bounds one scan (BERTH_SCAN_TIMEOUT, default 30m).
	Timeout time.Duration `yaml:"timeout"`
	// RegistryURL is the address scanner adapters pull from (default
	// http:// and events.externalHost, else addr) (BERTH_SCAN_REGISTRY_URL).
	RegistryURL string `yaml:"registryURL"`
	// TokenLifetime is how long a scanner's pull token lasts
	// (BERTH_SCAN_TOKEN_LIFETIME, default 30m).
	TokenLifetime time.Duration `yaml:"tokenLifetime"`
}

func (c ScanConfig) validate() error {
	switch {
	case c.Concurrency < 1:
		return fmt.Errorf("config: scan.concurrency %d must be at least 1", c.Concurrency)
	case c.Timeout <= 0:
		return fmt.Errorf("config: scan.timeout %s must be positive", c.Timeout)
	case c.TokenLifetime < time.Minute:
		return fmt.Errorf("config: scan.tokenLifetime %s must be at least a minute", c.TokenLifetime)
	case c.RegistryURL != "" && !strings.HasPrefix(c.RegistryURL, "http://") && !strings.HasPrefix(c.RegistryURL, "https://"):
		return fmt.Errorf("config: scan.registryURL %q must be an http or https URL", c.RegistryURL)
	}
	return nil
}

// scanning is the server's scanning: the engine, its built-in scanner and
// the pull gate.
type scanning struct {
	engine  *engine.Engine
	gate    *engine.Gate
	builtin *builtin.Scanner
}

// setupScanning builds the scan engine over store with the built-in
// scanner, registered with runner; local reaches the registry handler,
// outbound checks the addresses of registered adapters.
func setupScanning(ctx context.Context, cfg Config, store meta.Store, queue *jobs.Queue, runner *jobs.Runner,
	local http.Handler, outbound *netguard.Guard, logger *slog.Logger) (*scanning, error) {
	sc := cfg.Scan
	host := cfg.Events.ExternalHost
	if host == "" {
		host = cfg.Addr
	}
	regURL := sc.RegistryURL
	if regURL == "" {
		regURL = "http://" + host
	}
	s := &scanning{}
	s.engine = &engine.Engine{Store: store, Queue: queue, Builtin: map[string]scan.Scanner{},
		RegistryURL: regURL, InternalURL: "http://" + cfg.Addr, BuiltinURL: "http://" + replication.LocalHost, AutoScan: sc.AutoScan, Timeout: sc.Timeout, Logger: logger, Guard: outbound,
		Local: replication.HandlerTransport(local, func(ctx context.Context) context.Context {
			return auth.WithPrincipal(ctx, scanPrincipal)
		})}
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
			builtin.WithTransport(replication.HandlerTransport(local, func(ctx context.Context) context.Context {
				return auth.WithPrincipal(ctx, scanPrincipal)
			})))
		var builtinSc scan.Scanner = s.builtin
		if db == nil {
			builtinSc = sbomOnly{s.builtin}
		}
		s.engine.Builtin[builtinScanner] = builtinSc
	}
	s.engine.Register(runner, jobs.KindOptions{Limit: sc.Concurrency, Backoff: 5 * time.Second, MaxBackoff: time.Minute})
	s.gate = &engine.Gate{Store: store, Exempt: func(ctx context.Context, ev *registry.Event) bool {
		if strings.HasPrefix(ev.Operator, scannerSubject) {
			return true
		}
		p, ok := auth.PrincipalFrom(ev.Request.Context())
		return ok && p.Name == scanPrincipal.Name && ev.Request.Header.Get("Authorization") == ""
	}}
	return s, nil
}

// close stops the built-in scanner's background scans.
func (s *scanning) close() {
	if s.builtin != nil {
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
