package server

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

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

// httpMethods are the method label values; any other method counts as
// "other".
var httpMethods = [...]string{"get", "head", "put", "post", "patch", "delete", "options", "other"}

// methodIndex is r's method's place in httpMethods.
func methodIndex(method string) int {
	switch method {
	case http.MethodGet:
		return 0
	case http.MethodHead:
		return 1
	case http.MethodPut:
		return 2
	case http.MethodPost:
		return 3
	case http.MethodPatch:
		return 4
	case http.MethodDelete:
		return 5
	case http.MethodOptions:
		return 6
	}
	return 7
}

// requestMetrics are the berth_http_* collectors, resolved ahead per
// route class and method so that a request costs a few atomic adds.
type requestMetrics struct {
	byRoute map[string]*routeMetrics
}

// routeMetrics are one route class's series.
type routeMetrics struct {
	inFlight prometheus.Gauge
	received prometheus.Counter
	methods  [len(httpMethods)]methodMetrics
}

// methodMetrics are one route class and method's series; the counters by
// status code are made on first use.
type methodMetrics struct {
	duration prometheus.Observer
	sent     prometheus.Observer
	requests *prometheus.CounterVec // curried with route and method
	codes    sync.Map               // status code → prometheus.Counter
}

// count is the requests counter of status code.
func (m *methodMetrics) count(code int) prometheus.Counter {
	if c, ok := m.codes.Load(code); ok {
		return c.(prometheus.Counter)
	}
	c, _ := m.codes.LoadOrStore(code, m.requests.WithLabelValues(strconv.Itoa(code)))
	return c.(prometheus.Counter)
}

// newRequestMetrics registers the request collectors with reg: requests
// by route class, method and status; their duration and response bytes
// by route class and method; requests in flight and request body bytes
// by route class.
func newRequestMetrics(reg prometheus.Registerer) (*requestMetrics, error) {
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
	m := &requestMetrics{byRoute: make(map[string]*routeMetrics, len(routeClasses))}
	for _, route := range routeClasses {
		rm := &routeMetrics{inFlight: inFlight.WithLabelValues(route), received: received.WithLabelValues(route)}
		rm.inFlight.Set(0) // a series for every class from the start
		for i, method := range httpMethods {
			rm.methods[i] = methodMetrics{
				duration: duration.WithLabelValues(route, method),
				sent:     sent.WithLabelValues(route, method),
				requests: requests.MustCurryWith(prometheus.Labels{"route": route, "method": method}),
			}
		}
		m.byRoute[route] = rm
	}
	return m, nil
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
