package server

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/berthreg/berth/api"
)

// The route classes requests are counted by: a bounded set, whatever
// the paths clients send.
var routeClasses = []string{
	"v2_base", "catalog", "manifest", "blob", "blob_upload", "tags", "referrers",
	"token", "api", "session", "probe", "metrics", "other",
}

// routeOf is the class of a request to path; tokenPath is the token
// service's path ("" without auth).
func routeOf(path, tokenPath string) string {
	switch {
	case path == "/v2/" || path == "/v2":
		return "v2_base"
	case path == "/v2/_catalog":
		return "catalog"
	case strings.HasPrefix(path, "/v2/"):
		return registryRoute(path)
	case tokenPath != "" && path == tokenPath:
		return "token"
	case strings.HasPrefix(path, api.Prefix+"/"):
		return "api"
	case strings.HasPrefix(path, "/c/"):
		return "session"
	case path == "/livez" || path == "/healthz" || path == "/readyz":
		return "probe"
	case path == "/metrics":
		return "metrics"
	}
	return "other"
}

// registryRoute classes a /v2/<name>/… path by its last route segment
// (a repository name may hold the same words).
func registryRoute(path string) string {
	best, at := "other", -1
	for _, r := range []struct{ seg, class string }{
		{"/manifests/", "manifest"}, {"/blobs/uploads", "blob_upload"}, {"/blobs/", "blob"},
		{"/tags/list", "tags"}, {"/referrers/", "referrers"},
	} {
		// blobs/uploads wins over blobs/ at the same place.
		if i := strings.LastIndex(path, r.seg); i > at {
			best, at = r.class, i
		}
	}
	return best
}

// httpMetrics counts the requests h serves, by route class, method and
// status: how many, how long, how many at once, bytes received (request
// bodies as read) and sent. The instrumentation keeps the response
// writer's optional interfaces (sendfile, flushing, the response
// controller), so it costs no copy.
func httpMetrics(reg prometheus.Registerer, tokenPath string, h http.Handler) (http.Handler, error) {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "berth_http_requests_total",
		Help: "HTTP requests served, by route class, method and status code."}, []string{"route", "method", "code"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "berth_http_request_duration_seconds",
		Help:    "Time to serve HTTP requests, to the last byte of the response, by route class and method.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 120}}, []string{"route", "method"})
	inFlight := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "berth_http_requests_in_flight",
		Help: "HTTP requests being served, by route class (blob_upload: uploads in progress)."}, []string{"route"})
	sent := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "berth_http_response_size_bytes",
		Help:    "Bytes of HTTP response bodies sent, by route class and method.",
		Buckets: prometheus.ExponentialBuckets(256, 8, 9)}, []string{"route", "method"})
	received := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "berth_http_request_body_bytes_total",
		Help: "Bytes of HTTP request bodies received, by route class."}, []string{"route"})
	for _, c := range []prometheus.Collector{requests, duration, inFlight, sent, received} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("WithRegisterer: %w", err)
		}
	}
	byRoute := make(map[string]http.Handler, len(routeClasses))
	for _, route := range routeClasses {
		labels := prometheus.Labels{"route": route}
		body := received.With(labels)
		var next http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Body == nil || r.Body == http.NoBody {
				h.ServeHTTP(w, r)
				return
			}
			cb := &countedBody{ReadCloser: r.Body, counter: body}
			r = r.WithContext(r.Context()) // a copy: the server keeps its own body
			r.Body = cb
			defer cb.flush()
			h.ServeHTTP(w, r)
		})
		next = promhttp.InstrumentHandlerResponseSize(sent.MustCurryWith(labels), next)
		next = promhttp.InstrumentHandlerCounter(requests.MustCurryWith(labels), next)
		next = promhttp.InstrumentHandlerDuration(duration.MustCurryWith(labels), next)
		byRoute[route] = promhttp.InstrumentHandlerInFlight(inFlight.With(labels), next)
		// Zero series for every class, so that rates exist from the start.
		inFlight.With(labels).Set(0)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		byRoute[routeOf(r.URL.Path, tokenPath)].ServeHTTP(w, r)
	}), nil
}

// countedBody adds the bytes read from a request body to a counter: as
// it goes for long bodies, the rest at flush (when the handler is done;
// the server closes the body it made, not this one).
type countedBody struct {
	io.ReadCloser
	counter prometheus.Counter
	pending atomic.Int64 // read and not yet added
}

// countedChunk is how many bytes read make countedBody add them at once.
const countedChunk = 1 << 20

func (b *countedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 && b.pending.Add(int64(n)) >= countedChunk {
		b.flush()
	}
	return n, err
}

// flush adds what was read and not yet counted.
func (b *countedBody) flush() {
	if n := b.pending.Swap(0); n > 0 {
		b.counter.Add(float64(n))
	}
}
