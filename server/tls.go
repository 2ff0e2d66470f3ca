package server

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
)

// TLSConfig makes the server's listener speak TLS (Serve, and
// Server.TLSConfig for a program with an http.Server of its own): TLS
// 1.2 or later, HTTP/2 offered.
type TLSConfig struct {
	// CertFile and KeyFile are the PEM certificate chain and private key
	// (BERTH_TLS_CERT_FILE, BERTH_TLS_KEY_FILE): both or neither. They
	// are read again at the first handshake after either file changes (a
	// renewal by cert-manager or an ACME client); a pair that does not
	// load then is logged and the last good one kept.
	CertFile string `yaml:"certFile"`
	KeyFile  string `yaml:"keyFile"`
	// ClientCA, when set, is a PEM bundle of certificate authorities, and
	// every client must present a certificate one of them issued for
	// client authentication (mutual TLS), checked at the handshake before
	// any request is read (BERTH_TLS_CLIENT_CA). It is read again when it
	// changes, like the pair. Orchestrators' HTTPS probes present no
	// certificate: probe the debug address then (debugAddr serves
	// /livez and /readyz too).
	ClientCA string `yaml:"clientCA"`
}

// enabled reports whether TLS is configured.
func (c TLSConfig) enabled() bool { return c.CertFile != "" || c.KeyFile != "" }

// validate checks the tls settings.
func (c TLSConfig) validate() error {
	switch {
	case (c.CertFile == "") != (c.KeyFile == ""):
		return errors.New("config: tls.certFile and tls.keyFile go together: set both or neither")
	case c.ClientCA != "" && !c.enabled():
		return errors.New("config: tls.clientCA needs tls.certFile and tls.keyFile")
	}
	return nil
}

// newTLS loads c's files and returns the tls.Config that serves them,
// reloading them as they change; nil when TLS is off.
func newTLS(c TLSConfig, logger *slog.Logger) (*tls.Config, error) {
	if !c.enabled() {
		return nil, nil
	}
	k := &keyPair{cfg: c, logger: logger}
	if _, _, err := k.current(); err != nil {
		return nil, err
	}
	base := &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2", "http/1.1"},
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: base.NextProtos,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			cert, pool, err := k.current()
			if err != nil {
				return nil, err
			}
			cfg := base.Clone()
			cfg.Certificates = []tls.Certificate{*cert}
			if pool != nil {
				cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
			}
			return cfg, nil
		},
	}, nil
}

// keyPair is the certificate, key and client CAs the files hold, read
// again when a file changes.
type keyPair struct {
	cfg    TLSConfig
	logger *slog.Logger

	mu    sync.Mutex
	seen  [3]os.FileInfo // of the cert, key and CA files when last read
	cert  *tls.Certificate
	pool  *x509.CertPool
	found bool // cert is set
}

// current returns the pair and the client CAs (nil: no client
// authentication), read again if a file changed since the last read.
func (k *keyPair) current() (*tls.Certificate, *x509.CertPool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var now [3]os.FileInfo
	changed := !k.found
	for i, name := range []string{k.cfg.CertFile, k.cfg.KeyFile, k.cfg.ClientCA} {
		if name == "" {
			continue
		}
		fi, err := os.Stat(name)
		if err != nil {
			return k.keep(fmt.Errorf("tls: %w", err), k.seen)
		}
		now[i] = fi
		if prev := k.seen[i]; prev == nil || !os.SameFile(prev, fi) || !prev.ModTime().Equal(fi.ModTime()) || prev.Size() != fi.Size() {
			changed = true
		}
	}
	if !changed {
		return k.cert, k.pool, nil
	}
	cert, err := tls.LoadX509KeyPair(k.cfg.CertFile, k.cfg.KeyFile)
	if err != nil {
		return k.keep(fmt.Errorf("tls.certFile, tls.keyFile: %w", err), now)
	}
	var pool *x509.CertPool
	if k.cfg.ClientCA != "" {
		pem, err := os.ReadFile(k.cfg.ClientCA)
		if err != nil {
			return k.keep(fmt.Errorf("tls.clientCA: %w", err), now)
		}
		pool = x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return k.keep(fmt.Errorf("tls.clientCA: %s holds no PEM certificate", k.cfg.ClientCA), now)
		}
	}
	if k.found {
		k.logger.Info("tls: certificate files changed; serving the new ones")
	}
	k.seen, k.cert, k.pool, k.found = now, &cert, pool, true
	return k.cert, k.pool, nil
}

// keep answers a failed read: the last good pair, with err logged, or
// err when there is none (at New). The files are not read again until
// they change from seen.
func (k *keyPair) keep(err error, seen [3]os.FileInfo) (*tls.Certificate, *x509.CertPool, error) {
	if !k.found {
		return nil, nil, fmt.Errorf("config: %w", err)
	}
	k.seen = seen
	k.logger.Warn("tls: reading the changed certificate files failed; serving the previous ones", "err", err)
	return k.cert, k.pool, nil
}
