package server

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// BenchmarkManifestGETAuth measures a manifest GET through the whole
// server's handler with auth off, with basic credentials on
// every request (at the production bcrypt cost: the credential cache
// carries it), and with a bearer token, and logs each against auth off:
// in process, one request at a time (the handler's own cost), and over
// HTTP on loopback with concurrent clients (the throughput clients see,
// as the load tool under bench/ measures it).
func BenchmarkManifestGETAuth(b *testing.B) {
	for _, overHTTP := range []bool{false, true} {
		where := "handler"
		if overHTTP {
			where = "http"
		}
		b.Run(where, func(b *testing.B) { benchManifestGETAuth(b, overHTTP) })
	}
}

func benchManifestGETAuth(b *testing.B, overHTTP bool) {
	perOp := map[string]time.Duration{}
	for _, mode := range []string{"off", "basic", "bearer"} {
		b.Run(mode, func(b *testing.B) {
			cfg := DefaultConfig() // bcrypt at its production cost, as clients meet it
			cfg.DataDir = b.TempDir()
			cfg.Auth.AdminPassword = "admin-password"
			cfg.Auth.Disabled = mode == "off"
			srv := start(b, cfg, WithLogger(slog.New(slog.DiscardHandler)))
			ts := httptest.NewServer(srv.Handler())
			defer ts.Close()
			host := strings.TrimPrefix(ts.URL, "http://")
			ref, err := name.ParseReference(host+"/library/bench:latest", name.Insecure)
			if err != nil {
				b.Fatal(err)
			}
			img, _ := random.Image(1024, 1)
			var opts []remote.Option
			if mode != "off" {
				opts = append(opts, remote.WithAuth(&authn.Basic{Username: "admin", Password: "admin-password"}))
			}
			if err := remote.Write(ref, img, opts...); err != nil {
				b.Fatal(err)
			}
			mt, _ := img.MediaType()
			req := httptest.NewRequest("GET", "/v2/library/bench/manifests/latest", nil)
			req.Header.Set("Accept", string(mt))
			switch mode {
			case "basic":
				req.SetBasicAuth("admin", "admin-password")
			case "bearer":
				treq := httptest.NewRequest("GET", "/service/token?service=berth-registry&scope=repository:library/bench:pull", nil)
				treq.SetBasicAuth("admin", "admin-password")
				w := httptest.NewRecorder()
				srv.Handler().ServeHTTP(w, treq)
				var tok struct{ Token string }
				if err := json.Unmarshal(w.Body.Bytes(), &tok); err != nil || tok.Token == "" {
					b.Fatalf("token: %d %s", w.Code, w.Body)
				}
				req.Header.Set("Authorization", "Bearer "+tok.Token)
			}
			get := func() {
				w := httptest.NewRecorder()
				srv.Handler().ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("GET manifest (%s): %d %s", mode, w.Code, w.Body)
				}
			}
			get() // warm: the first basic request pays the bcrypt
			if overHTTP {
				client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
				defer client.CloseIdleConnections()
				b.SetParallelism(8) // 16 clients on 2 cores, as a load tool keeps a server busy
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						r, err := http.NewRequest("GET", ts.URL+req.URL.Path, nil)
						if err != nil {
							b.Error(err)
							return
						}
						r.Header = req.Header.Clone()
						res, err := client.Do(r)
						if err != nil {
							b.Error(err)
							return
						}
						_, _ = io.Copy(io.Discard, res.Body)
						res.Body.Close()
						if res.StatusCode != http.StatusOK {
							b.Errorf("GET manifest (%s): %d", mode, res.StatusCode)
							return
						}
					}
				})
			} else {
				b.ResetTimer()
				for b.Loop() {
					get()
				}
			}
			perOp[mode] = b.Elapsed() / time.Duration(b.N)
			b.ReportMetric(float64(time.Second)/float64(perOp[mode]), "GETs/s")
		})
	}
	if off := perOp["off"]; off > 0 && perOp["basic"] > 0 && perOp["bearer"] > 0 {
		b.Logf("manifest GETs/s (%s): off %.0f, basic %.0f (%.2f of off), bearer %.0f (%.2f of off)",
			b.Name(), float64(time.Second)/float64(off),
			float64(time.Second)/float64(perOp["basic"]), float64(off)/float64(perOp["basic"]),
			float64(time.Second)/float64(perOp["bearer"]), float64(off)/float64(perOp["bearer"]))
	}
}
