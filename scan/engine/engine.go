package engine

import (
	"cmp"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/netguard"
	"github.com/berthreg/berth/scan"
	"github.com/berthreg/berth/scan/pluggable"
	"github.com/berthreg/berth/settings"
)

// Job kinds and the event consumer's name.
const (
	// ScanKind jobs scan one artifact.
	ScanKind = "scan.artifact"
	// AllKind jobs enqueue a scan of every image in the registry.
	AllKind = "scan.all"
	// ConsumerName is scan-on-push's cursor in the event log.
	ConsumerName = "scan"
	// DefaultSetting names the setting holding the default scanner.
	DefaultSetting = "scan.default"
	// ScanAllScheduleName names the scan-all schedule in the scheduler
	// and its setting in the metadata store.
	ScanAllScheduleName = "scan.all.schedule"
)

// Errors the engine returns.
var (
	// ErrUnknownScanner reports a scanner name that is neither built in
	// nor registered.
	ErrUnknownScanner = errors.New("scan: unknown scanner")
	// ErrNotScannable reports an artifact no scanner reads (an index, a
	// signature, a chart).
	ErrNotScannable = errors.New("scan: the artifact is not an image")
)

// Engine scans artifacts as jobs: on push (the event log's PUSH_ARTIFACT
// events, for projects with auto-scan), on demand, and on a schedule
// (every image). Each scan asks a scanner — one built into the host or a
// Harbor scanner adapter registered in the metadata store — for a
// vulnerability report and an SBOM, stores them as OCI referrers of the
// artifact, keeps a summary per artifact (ScanReport) and appends a
// SCANNING_COMPLETED or SCANNING_FAILED event. Gate turns the summaries
// into a pull gate.
type Engine struct {
	// Store holds registrations, reports, settings and the job queue.
	Store meta.Store
	// Queue enqueues scans (its Notify wakes the local runner).
	Queue *jobs.Queue
	// Local reaches this registry under the host name inproc.Host (an
	// inproc.New transport over its handler): the reports are pushed and read through it, acting as a
	// principal allowed to push to every repository.
	Local http.RoundTripper
	// Builtin are the scanners built into the host, by name; they are
	// listed before the registrations and cannot be deleted.
	Builtin map[string]scan.Scanner
	// Default is the default scanner when no default is stored (""
	// means the first built-in one in name order).
	Default string
	// RegistryURL is the registry's address as scanners reach it,
	// InternalURL the one for registrations with UseInternalAddr, and
	// BuiltinURL the one for built-in scanners ("" means RegistryURL;
	// "http://"+inproc.Host for scanners whose transport is an
	// inproc.New transport).
	RegistryURL, InternalURL, BuiltinURL string
	// Credentials returns the Authorization header value the scanner
	// named pulls repo with: short-lived and pull-only for that one
	// repository (nil: none, for a registry without authentication).
	Credentials func(ctx context.Context, scanner, repo string) (string, error)
	// AutoScan scans pushed images in every project, whatever its
	// settings say.
	AutoScan bool
	// Timeout bounds one scan (0: 30 minutes).
	Timeout time.Duration
	// Logger receives failures (nil: none).
	Logger *slog.Logger
	// Guard decides which addresses registered scanner adapters may
	// reach, pings included (nil: every global address, nothing
	// internal). Built-in scanners make no such calls.
	Guard *netguard.Guard
}

func (e *Engine) log() *slog.Logger {
	if e.Logger != nil {
		return e.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (e *Engine) timeout() time.Duration {
	if e.Timeout > 0 {
		return e.Timeout
	}
	return 30 * time.Minute
}

// Register makes r run the engine's jobs: scans with opts (Limit caps
// concurrent scans), and the scan-all walk one at a time.
func (e *Engine) Register(r *jobs.Runner, opts jobs.KindOptions) {
	r.Handle(ScanKind, jobs.HandlerFunc(e.run), opts)
	r.Handle(AllKind, jobs.HandlerFunc(e.all), jobs.KindOptions{Limit: 1, MaxAttempts: 3})
}

// BuiltinNames lists the built-in scanners in name order.
func (e *Engine) BuiltinNames() []string {
	names := make([]string, 0, len(e.Builtin))
	for n := range e.Builtin {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// DefaultScanner returns the name of the default scanner: the stored
// setting, else Default, else the first built-in one ("" when there is
// none at all).
func (e *Engine) DefaultScanner(tx meta.Tx) (string, error) {
	var name string
	found, err := settings.Load(tx, DefaultSetting, &name)
	switch {
	case err != nil:
		return "", fmt.Errorf("scan: %w", err)
	case found:
		return name, nil
	}
	if e.Default != "" {
		return e.Default, nil
	}
	if names := e.BuiltinNames(); len(names) > 0 {
		return names[0], nil
	}
	return "", nil
}

// SetDefaultScanner makes name the default scanner.
func (e *Engine) SetDefaultScanner(tx meta.Tx, name string) error {
	if _, ok := e.Builtin[name]; !ok {
		if _, err := Scanners.In(tx).Get(name); err != nil {
			return fmt.Errorf("%w %q", ErrUnknownScanner, name)
		}
	}
	return settings.Save(tx, DefaultSetting, name, time.Now())
}

// scannerFor picks the scanner of an artifact in project: asked (a
// manual scan's choice), else the project's, else the default.
func (e *Engine) scannerFor(tx meta.Tx, project, asked string) (string, error) {
	if asked != "" {
		return asked, nil
	}
	p, err := accounts.Projects.In(tx).Get(project)
	if err == nil && p.Scan.Scanner != "" {
		return p.Scan.Scanner, nil
	}
	if err != nil && !errors.Is(err, meta.ErrNotFound) {
		return "", err
	}
	return e.DefaultScanner(tx)
}

// resolved is a scanner ready to use, with the registry address it is
// told to pull from.
type resolved struct {
	name     string
	scanner  scan.Scanner
	registry string
}

// resolve returns the scanner named, built in or registered.
func (e *Engine) resolve(ctx context.Context, name string) (resolved, error) {
	if s, ok := e.Builtin[name]; ok {
		return resolved{name: name, scanner: s, registry: cmp.Or(e.BuiltinURL, e.RegistryURL)}, nil
	}
	var rec ScannerRegistration
	err := e.Store.View(ctx, func(tx meta.Tx) error {
		var err error
		rec, err = Scanners.In(tx).Get(name)
		return err
	})
	if errors.Is(err, meta.ErrNotFound) {
		return resolved{}, fmt.Errorf("%w %q", ErrUnknownScanner, name)
	}
	if err != nil {
		return resolved{}, err
	}
	if rec.Disabled {
		return resolved{}, fmt.Errorf("%w %q: disabled", ErrUnknownScanner, name)
	}
	reg := e.RegistryURL
	if rec.UseInternalAddr && e.InternalURL != "" {
		reg = e.InternalURL
	}
	return resolved{name: name, scanner: Client(rec, e.Guard), registry: reg}, nil
}

// Client is the scanner of a registration: a Pluggable Scanner API
// client with the registration's authentication and TLS setting, whose
// connections (redirects included) go only where g allows (nil: no
// internal address).
func Client(rec ScannerRegistration, g *netguard.Guard) *pluggable.Client {
	c := &pluggable.Client{URL: rec.URL}
	switch strings.ToLower(rec.Auth) {
	case "basic":
		c.Authorization = "Basic " + base64.StdEncoding.EncodeToString([]byte(rec.AccessCredential))
	case "bearer":
		c.Authorization = "Bearer " + rec.AccessCredential
	case "x-scanneradapter-api-key":
		c.APIKey = rec.AccessCredential
	}
	tr := transportsFor(g)
	c.HTTP = &http.Client{Timeout: time.Minute, Transport: tr.secure}
	if rec.SkipCertVerify {
		c.HTTP.Transport = tr.insecure
	}
	return c
}

// transports are the two transports of the registrations a guard
// checks: one verifying certificates, one for registrations that skip
// the checks.
type transports struct{ secure, insecure *http.Transport }

// shared holds the transports of each guard (*netguard.Guard →
// *transports), so that connections are reused rather than a pool being
// left behind by each scan.
var shared sync.Map

func transportsFor(g *netguard.Guard) *transports {
	if v, ok := shared.Load(g); ok {
		return v.(*transports)
	}
	t := &transports{secure: g.Transport(), insecure: g.Transport()}
	t.insecure.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the registration asks for it
	v, _ := shared.LoadOrStore(g, t)
	return v.(*transports)
}

// CheckScanner reports what is wrong with a registration, naming the
// field.
func (e *Engine) CheckScanner(rec ScannerRegistration) error {
	if rec.Name == "" {
		return errors.New("name: required")
	}
	if _, ok := e.Builtin[rec.Name]; ok {
		return fmt.Errorf("name: %q is a built-in scanner", rec.Name)
	}
	u, err := url.Parse(rec.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("url: %q is not an http or https URL", rec.URL)
	}
	if err := e.Guard.CheckHost(u.Hostname()); err != nil {
		return fmt.Errorf("url: %w; an operator may allow it (outbound allow-list)", err)
	}
	switch strings.ToLower(rec.Auth) {
	case "", "basic", "bearer", "x-scanneradapter-api-key":
	default:
		return fmt.Errorf("auth: %q is not \"\", Basic, Bearer or X-ScannerAdapter-API-Key", rec.Auth)
	}
	if rec.Auth != "" && rec.AccessCredential == "" {
		return errors.New("access_credential: required with auth " + rec.Auth)
	}
	return nil
}

// Metadata asks the scanner named (built in or registered) what it is
// and can do: the ping of a registration.
func (e *Engine) Metadata(ctx context.Context, name string) (scan.Metadata, error) {
	r, err := e.resolve(ctx, name)
	if err != nil {
		return scan.Metadata{}, err
	}
	return r.scanner.Metadata(ctx)
}

// Ping asks a registration's adapter for its metadata (the registration
// need not be stored).
func (e *Engine) Ping(ctx context.Context, rec ScannerRegistration) (scan.Metadata, error) {
	return Client(rec, e.Guard).Metadata(ctx)
}
