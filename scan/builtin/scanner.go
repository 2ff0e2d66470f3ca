package builtin

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	scalibrversion "github.com/google/osv-scalibr/version"

	"github.com/berthreg/berth/scan"
	"github.com/berthreg/berth/scan/osv"
)

// Defaults of the options.
const (
	DefaultConcurrency = 2
	DefaultRetention   = time.Hour
	// DefaultRetryAfter is how long Report asks a caller to wait while a
	// scan runs.
	DefaultRetryAfter = time.Second
)

// Name and Vendor are what Metadata says the scanner is.
const (
	Name   = "Berth built-in scanner"
	Vendor = "Berth"
)

// ErrClosed is returned by Scan after Close.
var ErrClosed = errors.New("builtin: scanner closed")

// Scanner is the built-in scan.Scanner: it pulls the image from the
// request's registry, lists its OS packages and Go modules with
// osv-scalibr and matches them against an offline OSV database. Make one
// with New and Close it when done.
type Scanner struct {
	db          *osv.DB
	concurrency int
	retention   time.Duration
	retryAfter  time.Duration
	transport   http.RoundTripper
	logger      *slog.Logger
	hostLogger  *slog.Logger // set by WithLogger
	info        scan.Info

	ctx    context.Context
	cancel context.CancelFunc
	slots  chan struct{}
	wg     sync.WaitGroup

	mu     sync.Mutex
	jobs   map[string]*job
	closed bool
}

// Option configures a Scanner.
type Option func(*Scanner)

// WithConcurrency bounds how many images are scanned at once (default
// DefaultConcurrency); further scans wait their turn.
func WithConcurrency(n int) Option {
	return func(s *Scanner) {
		if n > 0 {
			s.concurrency = n
		}
	}
}

// WithRetention is how long a finished scan's reports are kept (default
// DefaultRetention); after that Report answers scan.ErrUnknownScan.
func WithRetention(d time.Duration) Option {
	return func(s *Scanner) {
		if d > 0 {
			s.retention = d
		}
	}
}

// WithRetryAfter is the wait Report asks for while a scan runs (default
// DefaultRetryAfter).
func WithRetryAfter(d time.Duration) Option {
	return func(s *Scanner) {
		if d > 0 {
			s.retryAfter = d
		}
	}
}

// WithTransport sets the HTTP transport images are pulled with (default
// http.DefaultTransport), e.g. one that reaches an in-process registry
// handler.
func WithTransport(rt http.RoundTripper) Option {
	return func(s *Scanner) {
		if rt != nil {
			s.transport = rt
		}
	}
}

// WithLogger sets the logger scan failures and skipped packages are
// reported to (default: none). osv-scalibr's own messages, which it logs
// process-wide, go to the logger of the scanner most recently made with
// this option.
func WithLogger(l *slog.Logger) Option {
	return func(s *Scanner) {
		if l != nil {
			s.logger, s.hostLogger = l, l
		}
	}
}

// New returns a scanner matching against db. Its background scans stop
// when Close is called.
func New(db *osv.DB, opts ...Option) *Scanner {
	s := &Scanner{
		db:          db,
		concurrency: DefaultConcurrency,
		retention:   DefaultRetention,
		retryAfter:  DefaultRetryAfter,
		transport:   http.DefaultTransport,
		logger:      slog.New(slog.DiscardHandler),
		jobs:        map[string]*job{},
	}
	if s.db == nil {
		s.db = &osv.DB{}
	}
	for _, o := range opts {
		o(s)
	}
	routeLibraryLogs(s.hostLogger)
	s.info = scan.Info{Name: Name, Vendor: Vendor, Version: version()}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.slots = make(chan struct{}, s.concurrency)
	return s
}

// version is the Berth module's version in the running binary, "dev"
// when it has none.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Path == "github.com/berthreg/berth" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version
		}
		for _, d := range bi.Deps {
			if d.Path == "github.com/berthreg/berth" && d.Version != "" {
				return d.Version
			}
		}
	}
	return "dev"
}

// Metadata implements scan.Scanner: a vulnerability capability and an
// SBOM capability (SPDX and CycloneDX), both consuming OCI and Docker v2
// image manifests, and properties describing the OSV database.
func (s *Scanner) Metadata(context.Context) (scan.Metadata, error) {
	consumes := []string{scan.MimeOCIManifest, scan.MimeDockerManifest}
	props := map[string]string{
		"harbor.scanner-adapter/scanner-type": "os-package-vulnerability",
		"berth.osv/advisories":                strconv.Itoa(s.db.Len()),
		"berth.scanner/osv-scalibr-version":   scalibrversion.ScannerVersion,
		"berth.scanner/concurrency":           strconv.Itoa(s.concurrency),
		"berth.scanner/retention":             s.retention.String(),
	}
	if src := s.db.Source(); src != "" {
		props["env.BERTH_OSV_DB"] = src
	}
	if t := s.db.LoadedAt(); !t.IsZero() {
		at := t.UTC().Format(time.RFC3339)
		props["harbor.scanner-adapter/vulnerability-database-updated-at"] = at
		props["berth.osv/loaded-at"] = at
	}
	return scan.Metadata{
		Scanner: s.info,
		Capabilities: []scan.Capability{
			{Type: scan.CapabilityVulnerability, ConsumesMimeTypes: consumes,
				ProducesMimeTypes: []string{scan.MimeVulnReport, scan.MimeHarborVulnReport}},
			{Type: scan.CapabilitySBOM, ConsumesMimeTypes: consumes,
				ProducesMimeTypes:    []string{scan.MimeSBOMReport},
				AdditionalAttributes: map[string][]string{"sbom_media_types": {scan.MimeSPDX, scan.MimeCycloneDX}}},
		},
		Properties: props,
	}, nil
}

// Close stops the background scans and waits for them to return. Scans
// cut short report an error; later calls to Scan return ErrClosed.
func (s *Scanner) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return nil
}
