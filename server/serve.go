package server

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// serving is what Serve needs beyond the handler.
type serving struct {
	tls               *tls.Config // nil: plain HTTP
	readHeaderTimeout time.Duration
	shutdownTimeout   time.Duration
	logger            *slog.Logger
}

// idleTimeout closes keep-alive connections left unused this long.
const idleTimeout = 2 * time.Minute

// maxHeaderBytes bounds a request's header block (the request line
// included): room for large bearer tokens and cookies, no more.
const maxHeaderBytes = 256 << 10

// Serve serves Handler on ln until ctx is done, then shuts down: the
// requests in flight get shutdownTimeout to finish. With tls configured
// it speaks TLS 1.2 or later and offers HTTP/2, and reloads changed
// certificate files; without, plain HTTP/1.1. Header reads are bounded
// by http.readHeaderTimeout. Serve returns nil after a shutdown that
// finished in time. It does not run the background work (Run).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: s.serving.readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		TLSConfig:         s.serving.tls,
		ErrorLog:          slog.NewLogLogger(s.serving.logger.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() {
		if s.serving.tls != nil {
			errc <- srv.ServeTLS(ln, "", "") // the certificates come from TLSConfig
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.serving.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// TLSConfig is the TLS configuration Serve uses (nil without tls): for a
// program that runs an http.Server of its own around Handler. Its
// certificates follow the files as they change.
func (s *Server) TLSConfig() *tls.Config { return s.serving.tls }
