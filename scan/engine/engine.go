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
	// ErrInvalid reports bad input to a service: a *FieldError naming
	// the field as the admin API spells it.
	ErrInvalid = errors.New("scan: invalid input")
	// ErrExists reports a registration name already taken.
	ErrExists = errors.New("scan: scanner exists")
	// ErrInUse reports a registration that cannot go: it is the default.
	ErrInUse = errors.New("scan: scanner in use")
	// ErrBuiltin reports a change to a built-in scanner, which only the
	// host can make.
	ErrBuiltin = errors.New("scan: built-in scanner")
	// ErrUnavailable reports a scanner that did not answer.
	ErrUnavailable = errors.New("scan: scanner unavailable")
)

// FieldError is invalid input to a service, naming the field at fault
// as the admin API spells it ("url", "cve_allowlist.items[0].cve_id").
// It matches ErrInvalid, and Err when set.
type FieldError struct {
	// Field names the field at fault.
	Field string
	// Problem says what is wrong with it.
	Problem string
	// Err is the cause, if any.
	Err error
}

// Error is "field: problem".
func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }

// Is matches ErrInvalid.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

// Unwrap returns the cause.
func (e *FieldError) Unwrap() error { return e.Err }

// invalid is a FieldError.
func invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)}
}

// failure is a service's error: a message for whoever asked (the admin
// API shows it as it is) that matches the errors it wraps.
type failure struct {
	msg  string
	errs []error
}

func (f *failure) Error() string   { return f.msg }
func (f *failure) Unwrap() []error { return f.errs }

// fail makes a failure of msg wrapping errs.
func fail(msg string, errs ...error) error { return &failure{msg: msg, errs: errs} }

// scannerNotFound is the error of a scanner name that is neither built
// in nor registered (cause, when it is not meta.ErrNotFound, is returned
// as it is).
func scannerNotFound(name string, cause error) error {
	if cause != nil && !errors.Is(cause, meta.ErrNotFound) {
		return cause
	}
	return fail("scanner "+name+" not found", ErrUnknownScanner, meta.ErrNotFound)
}

// projectNotFound is the error of a project that does not exist (cause,
// when it is not meta.ErrNotFound, is returned as it is).
func projectNotFound(name string, cause error) error {
	if !errors.Is(cause, meta.ErrNotFound) {
		return cause
	}
	return fail("project "+name+" not found", meta.ErrNotFound)
}

// Engine scans artifacts as jobs: on push (the event log's PUSH_ARTIFACT
// events, for projects with auto-scan), on demand, and on a schedule
// (every image). Each scan asks a scanner — one built into the host or a
// Harbor scanner adapter registered in the metadata store — for a
// vulnerability report and an SBOM, stores them as OCI referrers of the
// artifact, keeps a summary per artifact (ScanReport) and appends a
// SCANNING_COMPLETED or SCANNING_FAILED event. Gate turns the summaries
// into a pull gate.
//
// Create it with New; it is not changed after. Registrations is the
// service of its scanner registrations, Ping and Metadata reach
// scanners, Enqueue and Vulnerabilities serve an artifact's scans.
type Engine struct {
	// store holds registrations, reports, settings and the job queue.
	store meta.Store
	// queue's Notify wakes the local runner after an enqueue (nil: none).
	queue *jobs.Queue
	// local reaches this registry (an inproc.New transport over its
	// handler): the reports are pushed and read through it.
	local http.RoundTripper
	// builtin are the scanners built into the host, by name.
	builtin map[string]scan.Scanner
	// fallback is the default scanner when no default is stored.
	fallback string
	// registryURL, internalURL and builtinURL are the registry's
	// addresses as scanners reach it (see WithRegistryURL).
	registryURL, internalURL, builtinURL string
	// credentials makes the Authorization a scanner pulls with.
	credentials Credentials
	// autoScan scans pushed images in every project.
	autoScan bool
	// timeout bounds one scan.
	timeout time.Duration
	// logger receives failures.
	logger *slog.Logger
	// guard decides which addresses registered adapters may reach.
	guard *netguard.Guard
	// observe receives the scan attempts (nil: none).
	observe func(ScanAttempt)
}

// Credentials returns the Authorization header value the scanner named
// pulls repo with: short-lived and pull-only for that one repository.
type Credentials func(ctx context.Context, scanner, repo string) (string, error)

// Option configures an Engine.
type Option func(*Engine) error

// WithQueue makes q's Notify wake the local job runner after the engine
// enqueues scans (without it, the runner finds them when it polls).
func WithQueue(q *jobs.Queue) Option {
	return func(e *Engine) error { e.queue = q; return nil }
}

// WithLocal reaches this registry through rt (an inproc.New transport
// over its handler, answering for inproc.Host), as a principal
// allowed to push to every repository: the reports are pushed and read
// through it. Without it scans fail when they store their reports.
func WithLocal(rt http.RoundTripper) Option {
	return func(e *Engine) error { e.local = rt; return nil }
}

// WithBuiltin adds a scanner built into the host under name: built-in
// scanners are listed before the registrations and cannot be changed or
// deleted. A name given twice, an empty name or a nil scanner is an
// error.
func WithBuiltin(name string, s scan.Scanner) Option {
	return func(e *Engine) error {
		switch _, dup := e.builtin[name]; {
		case name == "":
			return errors.New("scan: WithBuiltin: empty name")
		case s == nil:
			return fmt.Errorf("scan: WithBuiltin %q: nil scanner", name)
		case dup:
			return fmt.Errorf("scan: WithBuiltin %q: given twice", name)
		}
		e.builtin[name] = s
		return nil
	}
}

// WithDefault names the default scanner while none is stored (without
// it, the first built-in one in name order).
func WithDefault(name string) Option {
	return func(e *Engine) error { e.fallback = name; return nil }
}

// WithRegistryURL gives the registry's addresses as scanners reach it:
// external for registrations, internal for registrations with
// UseInternalAddr ("": external), builtin for built-in scanners ("":
// external; "http://"+inproc.Host for scanners whose transport is an
// inproc.New transport). Each must be "" or an http or https URL.
func WithRegistryURL(external, internal, builtin string) Option {
	return func(e *Engine) error {
		for _, u := range []string{external, internal, builtin} {
			if u == "" {
				continue
			}
			if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
				return fmt.Errorf("scan: WithRegistryURL: %q is not an http or https URL", u)
			}
		}
		e.registryURL, e.internalURL, e.builtinURL = external, internal, builtin
		return nil
	}
}

// WithCredentials makes the Authorization header values scanners pull
// with (without it, none: for a registry without authentication).
func WithCredentials(c Credentials) Option {
	return func(e *Engine) error { e.credentials = c; return nil }
}

// WithAutoScan scans pushed images in every project, whatever its
// settings say.
func WithAutoScan(on bool) Option {
	return func(e *Engine) error { e.autoScan = on; return nil }
}

// WithTimeout bounds one scan (default 30 minutes); d must be positive.
func WithTimeout(d time.Duration) Option {
	return func(e *Engine) error {
		if d <= 0 {
			return fmt.Errorf("scan: WithTimeout %s: must be positive", d)
		}
		e.timeout = d
		return nil
	}
}

// WithLogger sends failures to l (default: nowhere).
func WithLogger(l *slog.Logger) Option {
	return func(e *Engine) error {
		if l != nil {
			e.logger = l
		}
		return nil
	}
}

// WithGuard decides which addresses registered scanner adapters may
// reach, pings included (default: every global address, nothing
// internal). Built-in scanners make no such calls.
func WithGuard(g *netguard.Guard) Option {
	return func(e *Engine) error { e.guard = g; return nil }
}

// ScanAttempt is one attempt at a scan, as an observer sees it.
type ScanAttempt struct {
	// Result is "succeeded" (the reports are recorded), "retried" (the
	// attempt failed; the scan is tried again), "failed" (for good: the
	// scan is in Error), "interrupted" (canceled: shutdown, or the job
	// canceled) or "gone" (the artifact was deleted meanwhile).
	Result string
	// Took is how long the attempt ran.
	Took time.Duration
}

// WithObserver makes the engine report every scan attempt to f once its
// outcome is recorded (how a host exports scans as metrics). f must be
// quick and must not block.
func WithObserver(f func(ScanAttempt)) Option {
	return func(e *Engine) error { e.observe = f; return nil }
}

// New returns the engine over store, which holds the registrations, the
// reports, the settings and the job queue. An invalid option is an
// error.
func New(store meta.Store, opts ...Option) (*Engine, error) {
	if store == nil {
		return nil, errors.New("scan: New: nil store")
	}
	e := &Engine{store: store, builtin: map[string]scan.Scanner{}, timeout: 30 * time.Minute,
		logger: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		if err := o(e); err != nil {
			return nil, err
		}
	}
	return e, nil
}

func (e *Engine) log() *slog.Logger { return e.logger }

// notify wakes the local runner, if the engine has a queue to ring.
func (e *Engine) notify() {
	if e.queue != nil {
		e.queue.Notify()
	}
}

// Register makes r run the engine's jobs: scans with opts (Limit caps
// concurrent scans), and the scan-all walk one at a time.
func (e *Engine) Register(r *jobs.Runner, opts jobs.KindOptions) {
	r.Handle(ScanKind, jobs.HandlerFunc(e.run), opts)
	r.Handle(AllKind, jobs.HandlerFunc(e.all), jobs.KindOptions{Limit: 1, MaxAttempts: 3})
}

// builtinNames lists the built-in scanners in name order.
func (e *Engine) builtinNames() []string {
	names := make([]string, 0, len(e.builtin))
	for n := range e.builtin {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// defaultScanner returns the name of the default scanner: the stored
// setting, else WithDefault's, else the first built-in one ("" when
// there is none at all).
func (e *Engine) defaultScanner(tx meta.Tx) (string, error) {
	var name string
	found, err := settings.Load(tx, DefaultSetting, &name)
	switch {
	case err != nil:
		return "", fmt.Errorf("scan: %w", err)
	case found:
		return name, nil
	}
	if e.fallback != "" {
		return e.fallback, nil
	}
	if names := e.builtinNames(); len(names) > 0 {
		return names[0], nil
	}
	return "", nil
}

// setDefaultTx makes name the default scanner; an unknown name is
// ErrUnknownScanner (and meta.ErrNotFound).
func (e *Engine) setDefaultTx(tx meta.Tx, name string) error {
	if _, ok := e.builtin[name]; !ok {
		if _, err := Scanners.In(tx).Get(name); err != nil {
			return scannerNotFound(name, err)
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
	return e.defaultScanner(tx)
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
	if s, ok := e.builtin[name]; ok {
		return resolved{name: name, scanner: s, registry: cmp.Or(e.builtinURL, e.registryURL)}, nil
	}
	var rec ScannerRegistration
	err := e.store.View(ctx, func(tx meta.Tx) error {
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
	reg := e.registryURL
	if rec.UseInternalAddr && e.internalURL != "" {
		reg = e.internalURL
	}
	c, err := Client(rec, e.guard)
	if err != nil {
		return resolved{}, fmt.Errorf("scanner %q: %w", name, err)
	}
	return resolved{name: name, scanner: c, registry: reg}, nil
}

// Client is the scanner of a registration: a Pluggable Scanner API
// client with the registration's authentication and TLS setting, whose
// connections (redirects included) go only where g allows (nil: no
// internal address).
func Client(rec ScannerRegistration, g *netguard.Guard) (*pluggable.Client, error) {
	var opts []pluggable.ClientOption
	switch strings.ToLower(rec.Auth) {
	case "basic":
		opts = append(opts, pluggable.WithAuthorization("Basic "+base64.StdEncoding.EncodeToString([]byte(rec.AccessCredential))))
	case "bearer":
		opts = append(opts, pluggable.WithAuthorization("Bearer "+rec.AccessCredential))
	case "x-scanneradapter-api-key":
		opts = append(opts, pluggable.WithAPIKey(rec.AccessCredential))
	}
	tr := transportsFor(g)
	hc := &http.Client{Timeout: time.Minute, Transport: g.RoundTripper(tr.secure)}
	if rec.SkipCertVerify {
		hc.Transport = g.RoundTripper(tr.insecure)
	}
	return pluggable.NewClient(rec.URL, append(opts, pluggable.WithHTTPClient(hc))...)
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
