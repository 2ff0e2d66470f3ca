package server

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue makes a leaf certificate with serial, for a server (127.0.0.1)
// or a client; it returns the certificate and key PEM.
func (ca *testCA) issue(t *testing.T, serial int64, client bool) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "leaf"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	if client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	} else {
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

// replaceFile writes b to path the way a renewal does: a new file
// renamed over the old one.
func replaceFile(t *testing.T, path string, b []byte) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// serveTLS runs a server with cfg through Serve on a loopback port until
// the test ends; it returns the https base URL.
func serveTLS(t *testing.T, cfg Config, logs io.Writer) string {
	t.Helper()
	cfg.DataDir = t.TempDir()
	cfg.Auth.AdminPassword = "admin-password-for-tls"
	srv := start(t, cfg, WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	return "https://" + serveListener(t, srv)
}

// serveListener runs srv.Serve on a loopback port until the test ends;
// it returns the host:port.
func serveListener(t *testing.T, srv *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// tlsClient trusts ca, offers HTTP/2, presents cert (if any) and opens a
// new connection for every request (each one a handshake).
func tlsClient(ca *testCA, cert *tls.Certificate, maxVersion uint16) *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.pem)
	cfg := &tls.Config{RootCAs: pool, MaxVersion: maxVersion}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true, DisableKeepAlives: true}}
}

// servedSerial GETs /livez and returns the serial number of the
// certificate the server presented, failing unless it answered 200.
func servedSerial(t *testing.T, c *http.Client, base string) int64 {
	t.Helper()
	resp, err := c.Get(base + "/livez")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /livez: %d", resp.StatusCode)
	}
	return resp.TLS.PeerCertificates[0].SerialNumber.Int64()
}

func TestServeTLS(t *testing.T) {
	ca := newTestCA(t, "berth test CA")
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	c, k := ca.issue(t, 100, false)
	replaceFile(t, certFile, c)
	replaceFile(t, keyFile, k)
	cfg := testConfig()
	cfg.TLS = TLSConfig{CertFile: certFile, KeyFile: keyFile}
	var logs safeBuffer
	base := serveTLS(t, cfg, &logs)

	client := tlsClient(ca, nil, 0)
	resp, err := client.Get(base + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Proto != "HTTP/2.0" || resp.TLS.Version < tls.VersionTLS12 {
		t.Errorf("served %s over TLS %x, want HTTP/2.0 over 1.2 or later", resp.Proto, resp.TLS.Version)
	}
	// The token realm the challenge names is https, as the client came.
	if got := resp.Header.Get("WWW-Authenticate"); !strings.Contains(got, `realm="https://`) {
		t.Errorf("challenge %q does not name an https realm", got)
	}
	if _, err := tlsClient(ca, nil, tls.VersionTLS11).Get(base + "/livez"); err == nil {
		t.Error("a TLS 1.1 client was served")
	}

	// A renewal: the next handshake presents the new certificate.
	if got := servedSerial(t, client, base); got != 100 {
		t.Fatalf("serial %d served, want 100", got)
	}
	c, k = ca.issue(t, 101, false)
	replaceFile(t, certFile, c)
	replaceFile(t, keyFile, k)
	if got := servedSerial(t, client, base); got != 101 {
		t.Fatalf("after the renewal serial %d is served, want 101", got)
	}
	// A broken renewal keeps the last good pair, and says so.
	replaceFile(t, certFile, []byte("not a certificate"))
	if got := servedSerial(t, client, base); got != 101 {
		t.Fatalf("after a broken renewal serial %d is served, want 101 still", got)
	}
	if !strings.Contains(logs.String(), "serving the previous ones") {
		t.Errorf("the broken renewal was not logged:\n%s", logs.String())
	}
	// Mended, it is taken.
	c, _ = ca.issue(t, 102, false)
	_, k = ca.issue(t, 0, false) // another key: the pair does not match
	replaceFile(t, keyFile, k)
	replaceFile(t, certFile, c)
	if got := servedSerial(t, client, base); got != 101 {
		t.Fatalf("a certificate with the wrong key was served (serial %d)", got)
	}
	c, k = ca.issue(t, 103, false)
	replaceFile(t, certFile, c)
	replaceFile(t, keyFile, k)
	if got := servedSerial(t, client, base); got != 103 {
		t.Fatalf("after the mended renewal serial %d is served, want 103", got)
	}
}

func TestServeClientCertificates(t *testing.T) {
	ca, clients, other := newTestCA(t, "server CA"), newTestCA(t, "client CA"), newTestCA(t, "another CA")
	dir := t.TempDir()
	certFile, keyFile, caFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"), filepath.Join(dir, "clients.pem")
	c, k := ca.issue(t, 7, false)
	replaceFile(t, certFile, c)
	replaceFile(t, keyFile, k)
	replaceFile(t, caFile, clients.pem)
	cfg := testConfig()
	cfg.TLS = TLSConfig{CertFile: certFile, KeyFile: keyFile, ClientCA: caFile}
	base := serveTLS(t, cfg, io.Discard)

	pair := func(ca *testCA) *tls.Certificate {
		c, k := ca.issue(t, 9, true)
		p, err := tls.X509KeyPair(c, k)
		if err != nil {
			t.Fatal(err)
		}
		return &p
	}
	if _, err := tlsClient(ca, nil, 0).Get(base + "/livez"); err == nil {
		t.Error("a client without a certificate was served")
	}
	if _, err := tlsClient(ca, pair(other), 0).Get(base + "/livez"); err == nil {
		t.Error("a client with another CA's certificate was served")
	}
	if got := servedSerial(t, tlsClient(ca, pair(clients), 0), base); got != 7 {
		t.Errorf("serial %d, want 7", got)
	}
	// The client CAs follow their file too.
	replaceFile(t, caFile, other.pem)
	if got := servedSerial(t, tlsClient(ca, pair(other), 0), base); got != 7 {
		t.Errorf("serial %d, want 7", got)
	}
	if _, err := tlsClient(ca, pair(clients), 0).Get(base + "/livez"); err == nil {
		t.Error("a client of the replaced CA was still served")
	}
}

func TestTLSConfigValidation(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		tls  TLSConfig
		want string
	}{
		{TLSConfig{CertFile: "a.crt"}, "tls.certFile and tls.keyFile"},
		{TLSConfig{KeyFile: "a.key"}, "tls.certFile and tls.keyFile"},
		{TLSConfig{ClientCA: "ca.pem"}, "tls.clientCA needs"},
	} {
		cfg := testConfig()
		cfg.TLS = tc.tls
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error naming %q", tc.tls, err, tc.want)
		}
	}
	// Files that do not load fail New, naming the keys.
	cfg := testConfig()
	cfg.DataDir = dir
	cfg.TLS = TLSConfig{CertFile: filepath.Join(dir, "missing.crt"), KeyFile: filepath.Join(dir, "missing.key")}
	if _, err := New(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), "tls") {
		t.Errorf("New with missing certificate files: %v", err)
	}
}

// safeBuffer is a bytes.Buffer for a logger and a test at once.
type safeBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *safeBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *safeBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestServeBoundsHeaders: a header block past maxHeaderBytes is refused
// (431) by Serve's http.Server, not read whole.
func TestServeBoundsHeaders(t *testing.T) {
	cfg := testConfig()
	cfg.DataDir = t.TempDir()
	cfg.Auth.AdminPassword = "admin-password-headers"
	host := serveListener(t, start(t, cfg, WithLogger(slog.New(slog.DiscardHandler))))
	req, _ := http.NewRequest(http.MethodGet, "http://"+host+"/livez", nil)
	req.Header.Set("X-Big", strings.Repeat("a", maxHeaderBytes+4096))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("a %d-byte header: %d, want 431", maxHeaderBytes+4096, resp.StatusCode)
	}
}
