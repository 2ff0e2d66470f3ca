package server

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"

	"time"

	"github.com/berthreg/berth/jobs"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// TracingConfig sends OpenTelemetry traces of the server's work to an
// OTLP collector: off unless Endpoint is set (or WithTracerProvider
// brings a provider).
type TracingConfig struct {
	// Endpoint is the collector's OTLP/HTTP traces URL, e.g.
	// http://otel-collector:4318/v1/traces (BERTH_TRACING_ENDPOINT;
	// https verifies the collector's certificate).
	Endpoint string `yaml:"endpoint"`
	// SampleRatio is the share of traces started here that are kept,
	// 0 to 1; a request that arrives inside a sampled trace (a
	// traceparent header) follows its caller's choice
	// (BERTH_TRACING_SAMPLE_RATIO, default 0.01).
	SampleRatio float64 `yaml:"sampleRatio"`
	// ServiceName names this server in the traces
	// (BERTH_TRACING_SERVICE_NAME, default berth-registry).
	ServiceName string `yaml:"serviceName"`
}

// validate checks the tracing settings.
func (c TracingConfig) validate() error {
	if c.SampleRatio < 0 || c.SampleRatio > 1 || math.IsNaN(c.SampleRatio) {
		return fmt.Errorf("config: tracing.sampleRatio %v must be between 0 and 1", c.SampleRatio)
	}
	if c.Endpoint == "" {
		return nil
	}
	u, err := url.Parse(c.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("config: tracing.endpoint %q must be an http:// or https:// URL", c.Endpoint)
	}
	return nil
}

// tracingFlushTimeout bounds the flush of the last spans at Close.
const tracingFlushTimeout = 5 * time.Second

// tracing is the server's tracer provider and propagator; the zero
// value (no provider) traces nothing and costs nothing.
type tracing struct {
	provider trace.TracerProvider
	// shutdown flushes and stops a provider the server made (nil for one
	// WithTracerProvider brought).
	shutdown func(context.Context) error
}

// propagator reads and writes W3C trace context (traceparent,
// tracestate) and baggage; the server's own, not the global one.
var propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// newTracing returns the provider brought by WithTracerProvider, or one
// exporting to cfg.Endpoint, or none.
func newTracing(cfg TracingConfig, brought trace.TracerProvider) (tracing, error) {
	if brought != nil {
		return tracing{provider: brought}, nil
	}
	if cfg.Endpoint == "" {
		return tracing{}, nil
	}
	exporter, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(cfg.Endpoint))
	if err != nil {
		return tracing{}, fmt.Errorf("config: tracing.endpoint: %w", err)
	}
	name := cfg.ServiceName
	if name == "" {
		name = "berth-registry"
	}
	res, err := resourceFor(name)
	if err != nil {
		return tracing{}, err
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exporter),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(cfg.SampleRatio))),
	)
	return tracing{provider: tp, shutdown: tp.Shutdown}, nil
}

// on reports whether traces are made.
func (t tracing) on() bool { return t.provider != nil }

// tracer is the server's tracer (nil without tracing).
func (t tracing) tracer() trace.Tracer {
	if t.provider == nil {
		return nil
	}
	return t.provider.Tracer("github.com/berthreg/berth/server")
}

// close flushes and stops a provider the server made.
func (t tracing) close(ctx context.Context) error {
	if t.shutdown == nil {
		return nil
	}
	if err := t.shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("tracing: %w", err)
	}
	return nil
}

// childSpan records an operation that already ran (from start, for took)
// as a span of the trace ctx is in, when that trace is sampled: storage
// and metadata calls become children of the request or job that made
// them, and calls outside any trace make none. result other than ok or
// not_found marks the span failed.
func childSpan(ctx context.Context, tracer trace.Tracer, name string, start time.Time, took time.Duration, result string, err error) {
	if !trace.SpanContextFromContext(ctx).IsSampled() {
		return
	}
	_, span := tracer.Start(ctx, name, trace.WithTimestamp(start), trace.WithSpanKind(trace.SpanKindInternal))
	span.SetAttributes(attribute.String("berth.result", result))
	if result != "ok" && result != "not_found" && err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	span.End(trace.WithTimestamp(start.Add(took)))
}

// jobHook is the job runner's WithAttemptHook: each attempt is a span
// (a consumer of the queue) named by its kind, in which the handler's
// storage, metadata and outbound calls are made.
func (t tracing) jobHook() func(ctx context.Context, kind string, id uint64) (context.Context, func(jobs.Attempt)) {
	tracer := t.tracer()
	return func(ctx context.Context, kind string, id uint64) (context.Context, func(jobs.Attempt)) {
		ctx, span := tracer.Start(ctx, "job "+kind, trace.WithSpanKind(trace.SpanKindConsumer),
			trace.WithAttributes(attribute.String("berth.job.kind", kind), attribute.Int64("berth.job.id", int64(id))))
		return ctx, func(a jobs.Attempt) {
			span.SetAttributes(attribute.String("berth.job.outcome", string(a.Outcome)))
			if a.Outcome != jobs.Succeeded {
				span.SetStatus(codes.Error, string(a.Outcome))
			}
			span.End()
		}
	}
}

// transport wraps an outbound transport: each call is a client span, and
// its request carries the W3C trace context of the work that made it.
func (t tracing) transport(rt http.RoundTripper) http.RoundTripper {
	return otelhttp.NewTransport(rt,
		otelhttp.WithTracerProvider(t.provider),
		otelhttp.WithPropagators(propagator),
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method + " " + r.URL.Host }),
	)
}
