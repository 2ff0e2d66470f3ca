package server

import (
	"io"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/scan"
	"github.com/berthreg/berth/storage"
)

// Option replaces a part New would otherwise build from the Config with
// one the host brings.
type Option func(*options)

// options are what the Options set.
type options struct {
	authn     auth.Authenticator
	logger    *slog.Logger
	registry  prometheus.Registerer
	driver    storage.Driver
	store     meta.Store
	consumers []Consumer
	// builtinScanner makes the built-in scanner (nil: none).
	builtinScanner BuiltinScanner
	tracer         trace.TracerProvider
}

// WithAuthenticator checks the names and secrets of basic credentials
// (on /v2/, the admin API, the token service and POST /c/login) with a,
// instead of the server's local users: the host brings its own people,
// and the server keeps no second copy of them. Robot accounts
// ("robot$…") are still the server's, checked by it and never passed to
// a: they are made through the admin API or Server.Accounts, and their
// secrets exist only in the server. The principals a returns are
// authorized like accounts: a system administrator may do everything,
// others what their project memberships allow, by user name or by one
// of their Groups (a membership of kind "group"). Not with auth.disabled,
// nor with auth.ldap.url (the directory is one of the accounts'
// sources).
func WithAuthenticator(a auth.Authenticator) Option {
	return func(o *options) { o.authn = a }
}

// WithLogger sends the server's logs to l (default: none).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

// WithRegisterer registers all of the server's Prometheus collectors
// (requests, storage, metadata, jobs, webhooks, replication, scans,
// quotas, contents, garbage collection, proxy caches) with r (default: a
// registry of the server's own, served only with metrics.token). Two
// servers cannot share one registerer.
func WithRegisterer(r prometheus.Registerer) Option {
	return func(o *options) { o.registry = r }
}

// WithTracerProvider traces the server's work with tp (an OpenTelemetry
// SDK provider the host set up, or a test's) instead of the one
// tracing.endpoint would make; the host flushes and stops it.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(o *options) { o.tracer = tp }
}

// WithStorage keeps blobs in d instead of the driver storage.driver
// selects; storage.driver must then be left at fs, without
// storage.fs settings.
func WithStorage(d storage.Driver) Option {
	return func(o *options) { o.driver = d }
}

// WithStore keeps metadata in s instead of <dataDir>/meta.db. The host
// keeps s: Close does not close it.
func WithStore(s meta.Store) Option {
	return func(o *options) { o.store = s }
}

// Consumer describes a consumer of the event log for WithConsumers. The
// server makes it with events.NewConsumer over its own store, waking it
// with its bell and logging to its logger; Options are applied after
// those (events.WithFrom, events.WithPoll, events.WithLogger, ...).
type Consumer struct {
	// Name is the consumer's cursor; it must not be one of the server's.
	Name string
	// Handler handles the batches: an events.Func or an events.TxFunc.
	Handler events.Handler
	// Options tune the consumer.
	Options []events.ConsumerOption
}

// WithConsumers runs consumers of the event log besides the server's own
// (webhooks, replication, scans, syslog), from New (their cursors are
// created there) and then in Run. Each needs a Name of its own and a
// Handler.
func WithConsumers(cs ...Consumer) Option {
	return func(o *options) { o.consumers = append(o.consumers, cs...) }
}

// BuiltinScanner makes the scanner compiled into the server, offered as
// "builtin": with the OSV database at osvDB ("" for none), up to
// concurrency scans at once, pulling images through local (this registry,
// in process). The Closer stops its background work when the server
// closes. builtinscan.New (package server/builtinscan) is Berth's.
type BuiltinScanner func(osvDB string, concurrency int, local http.RoundTripper, logger *slog.Logger) (scan.Scanner, io.Closer, error)

// WithBuiltinScanner compiles in the built-in scanner f makes, used
// unless scan.builtin is false. Without it the server has no built-in
// scanner (scan.builtin true is then an error) and does not compile in a
// scanner's libraries: scanners are Harbor adapters registered through
// the admin API.
func WithBuiltinScanner(f BuiltinScanner) Option {
	return func(o *options) { o.builtinScanner = f }
}
