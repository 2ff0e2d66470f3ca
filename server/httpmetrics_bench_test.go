package server

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// BenchmarkManifestGetMetrics gets one manifest from the whole server
// (auth off, bbolt, fs) over loopback HTTP, 2 parallel clients, with the
// request metrics off, on, and on with tracing sampling 1% (the SDK with
// a batcher to an exporter that drops the spans), side by side; issue
// 20's targets: metrics on ≥ 0.95× off, tracing at 1% ≥ 0.9× off. The
// "handler" variants call the handler in process, without HTTP: the
// cost against the server's own work alone.
//
//	go test -run '^$' -bench ManifestGetMetrics -count 5 ./server
func BenchmarkManifestGetMetrics(b *testing.B) {
	for _, variant := range []string{"off", "metrics", "metrics+tracing1%"} {
		cfg := testConfig()
		cfg.DataDir = b.TempDir()
		cfg.Auth.Disabled = true
		cfg.Metrics.HTTPOff = variant == "off"
		opts := []Option{WithRegisterer(prometheus.NewRegistry())}
		if variant == "metrics+tracing1%" {
			tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()),
				sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.01))))
			b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
			opts = append(opts, WithTracerProvider(tp))
		}
		srv := start(b, cfg, opts...)
		ts := httptest.NewServer(srv.Handler())
		ref, err := name.ParseReference(ts.Listener.Addr().String()+"/library/app:v1", name.Insecure)
		if err != nil {
			b.Fatal(err)
		}
		img, err := random.Image(1024, 1)
		if err != nil {
			b.Fatal(err)
		}
		if err := remote.Write(ref, img); err != nil {
			b.Fatal(err)
		}
		h := srv.Handler()
		get := func(b *testing.B, do func(*http.Request) int) {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest(http.MethodGet, ts.URL+"/v2/library/app/manifests/v1", nil)
					req.RequestURI = ""
					req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json")
					if code := do(req); code != http.StatusOK {
						b.Fatalf("GET manifest: %d", code)
					}
				}
			})
		}
		b.Run("http/"+variant, func(b *testing.B) {
			get(b, func(req *http.Request) int {
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return resp.StatusCode
			})
		})
		b.Run("handler/"+variant, func(b *testing.B) {
			get(b, func(req *http.Request) int {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				return w.Code
			})
		})
		ts.Close()
	}
}
