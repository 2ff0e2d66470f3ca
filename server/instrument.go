package server

import (
	"net/http"
	"time"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
)

// instrumented serves h with each request counted in m (nil: no request
// metrics) and, with tracing on, made a server span named by its method
// and route class, continuing the caller's W3C trace context (the probes
// and /metrics are not traced). One response writer wrapper notes the
// status and bytes for both, keeping sendfile and the response
// controller.
func instrumented(h http.Handler, m *requestMetrics, traces tracing, tokenPath string) http.Handler {
	tracer := traces.tracer()
	if m == nil && tracer == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route := routeOf(r.URL.Path, tokenPath)
		start := time.Now()
		copied := false
		var span trace.Span
		if tracer != nil && route != "probe" && route != "metrics" {
			ctx := r.Context()
			_, parent := r.Header["Traceparent"]
			if parent {
				ctx = propagator.Extract(ctx, propagation.HeaderCarrier(r.Header))
			}
			ctx, span = tracer.Start(ctx, r.Method+" "+route, trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(start))
			switch {
			case span.IsRecording():
				span.SetAttributes(semconv.HTTPRequestMethodKey.String(r.Method), semconv.HTTPRoute(route),
					semconv.URLPath(r.URL.Path), semconv.UserAgentOriginal(r.UserAgent()), semconv.ClientAddress(r.RemoteAddr))
				r, copied = r.WithContext(ctx), true
			case parent:
				// Not sampled, but in a caller's trace: its context goes on
				// to the calls this request makes.
				r, copied = r.WithContext(ctx), true
			default:
				// Not sampled and no caller's trace: nothing to carry or
				// record (most requests, at a low ratio).
				span = nil
			}
		}
		var rm *routeMetrics
		var body *countedBody
		if m != nil {
			rm = m.byRoute[route]
			rm.inFlight.Inc()
			if r.Body != nil && r.Body != http.NoBody {
				if !copied {
					r = r.WithContext(r.Context()) // a copy: the server keeps its own body
				}
				body = &countedBody{ReadCloser: r.Body, counter: rm.received}
				r.Body = body
			}
		}
		rw := &recordingWriter{ResponseWriter: w}
		// Deferred, so that a handler that aborts its response (a panic
		// with http.ErrAbortHandler) is counted and its span ended too.
		defer func() {
			took := time.Since(start)
			if rm != nil {
				rm.inFlight.Dec()
				if body != nil {
					body.flush()
				}
				mm := &rm.methods[methodIndex(r.Method)]
				mm.duration.Observe(took.Seconds())
				mm.sent.Observe(float64(rw.written))
				if rw.status != 0 {
					mm.count(rw.status).Inc()
				}
			}
			if span != nil {
				if span.IsRecording() {
					span.SetAttributes(semconv.HTTPResponseStatusCode(rw.status))
					if rw.status == 0 || rw.status >= 500 {
						span.SetStatus(codes.Error, http.StatusText(rw.status))
					}
				}
				span.End(trace.WithTimestamp(start.Add(took)))
			}
		}()
		h.ServeHTTP(rw, r)
	})
}
