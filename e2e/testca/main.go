// Command testca makes the keyless-signing fixture of the end-to-end
// suite: a certificate authority standing in for a private Fulcio, and
// short-lived signing certificates it issued to an OIDC identity, so that
// cosign can sign "keyless" (with a certificate, no key of the project's)
// without a network.
//
// Usage: go run ./testca DIR
//
// It writes into DIR:
//
//	ca.pem                    the authority's certificate (the trusted root's)
//	dev.pem, dev.key          a certificate for Subject from Issuer, its key (PKCS#8)
//	stranger.pem, stranger.key the same identity from another authority
//	stranger-ca.pem           that other authority's certificate
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// The identity the certificates are issued to.
const (
	Issuer  = "https://issuer.e2e.test"
	Subject = "dev@e2e.test"
)

// Fulcio's OIDC issuer extensions: the first (deprecated) holds the raw
// string, the second its DER encoding. Fulcio writes both; cosign's legacy
// verification reads the first, sigstore-go either.
var (
	issuerV1OID = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}
	issuerV2OID = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}
)

type authority struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newAuthority(name string, now time.Time) (authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return authority{}, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(48 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return authority{}, err
	}
	cert, err := x509.ParseCertificate(der)
	return authority{cert: cert, key: key}, err
}

// issue writes name.pem and name.key: a code-signing certificate for the
// identity, valid for a day.
func (a authority) issue(dir, name string, now time.Time) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	ext, err := asn1.MarshalWithParams(Issuer, "utf8")
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(now.UnixNano()), NotBefore: now.Add(-time.Minute), NotAfter: now.Add(24 * time.Hour),
		EmailAddresses: []string{Subject}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		ExtraExtensions: []pkix.Extension{{Id: issuerV1OID, Value: []byte(Issuer)}, {Id: issuerV2OID, Value: ext}}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		return err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := writePEM(filepath.Join(dir, name+".pem"), "CERTIFICATE", der); err != nil {
		return err
	}
	return writePEM(filepath.Join(dir, name+".key"), "PRIVATE KEY", pkcs8)
}

func writePEM(path, kind string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600)
}

func run(dir string) error {
	now := time.Now()
	fulcio, err := newAuthority("e2e fulcio", now)
	if err != nil {
		return err
	}
	stranger, err := newAuthority("stranger", now)
	if err != nil {
		return err
	}
	if err := writePEM(filepath.Join(dir, "ca.pem"), "CERTIFICATE", fulcio.cert.Raw); err != nil {
		return err
	}
	if err := writePEM(filepath.Join(dir, "stranger-ca.pem"), "CERTIFICATE", stranger.cert.Raw); err != nil {
		return err
	}
	if err := fulcio.issue(dir, "dev", now); err != nil {
		return err
	}
	return stranger.issue(dir, "stranger", now)
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: testca DIR")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "testca:", err)
		os.Exit(1)
	}
}
