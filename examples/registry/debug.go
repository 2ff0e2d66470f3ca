package main

import (
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// startDebug serves Go's pprof handlers, the Prometheus metrics of reg
// (at /metrics) and the probes of probes (/livez, /healthz, /readyz) on
// their own listener, never on the registry's, so they can stay off the
// public address (and answer an orchestrator's plain HTTP probes when
// the registry asks clients for certificates).
func startDebug(addr string, reg *prometheus.Registry, probes http.Handler, logger *slog.Logger) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	for _, p := range []string{"/livez", "/healthz", "/readyz"} {
		mux.Handle(p, probes)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	logger.Info("pprof and metrics listening", "addr", ln.Addr().String())
	return srv, nil
}
