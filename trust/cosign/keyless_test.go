package cosign_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/berthreg/berth/trust"
	"github.com/berthreg/berth/trust/cosign"
)

// issuerOID is Fulcio's OIDC issuer extension (its DER-encoded form).
var issuerOID = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}

// ca is a certificate authority standing in for a private Fulcio.
type ca struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newCA(t *testing.T, name string) ca {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-24 * time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return ca{cert: cert, key: key}
}

// issue makes a short-lived signing certificate for subject from issuer,
// valid from notBefore for an hour.
func (c ca) issue(t *testing.T, issuer, subject string, notBefore time.Time) (signature.Signer, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ext, err := asn1.MarshalWithParams(issuer, "utf8")
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), NotBefore: notBefore, NotAfter: notBefore.Add(time.Hour),
		EmailAddresses: []string{subject}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		ExtraExtensions: []pkix.Extension{{Id: issuerOID, Value: ext}}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		t.Fatal(err)
	}
	s, err := signature.LoadSigner(key, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return s, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// trustedRoot is a trusted root with c as its certificate authority and,
// when log is not nil, a transparency log with that key.
func trustedRoot(t *testing.T, c ca, log *ecdsa.PrivateKey) *root.TrustedRoot {
	t.Helper()
	var logs map[string]*root.TransparencyLog
	if log != nil {
		id := logID(t, log)
		logs = map[string]*root.TransparencyLog{hex.EncodeToString(id): {ID: id, BaseURL: "https://rekor.test",
			ValidityPeriodStart: time.Now().Add(-24 * time.Hour), HashFunc: crypto.SHA256, PublicKey: &log.PublicKey, SignatureHashFunc: crypto.SHA256}}
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01,
		[]root.CertificateAuthority{&root.FulcioCertificateAuthority{Root: c.cert, ValidityPeriodStart: time.Now().Add(-24 * time.Hour), URI: "https://fulcio.test"}},
		nil, nil, logs)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func logID(t *testing.T, log *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&log.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	return sum[:]
}

// rekorBundle is the annotation cosign attaches to a legacy signature
// logged in Rekor: log signs an inclusion promise of a hashedrekord
// entry of sig over payload by cert, logged at at.
func rekorBundle(t *testing.T, log *ecdsa.PrivateKey, at time.Time, payload []byte, sig, certPEM string) string {
	t.Helper()
	sum := sha256.Sum256(payload)
	body, err := json.Marshal(map[string]any{"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": map[string]any{
		"data":      map[string]any{"hash": map[string]string{"algorithm": "sha256", "value": hex.EncodeToString(sum[:])}},
		"signature": map[string]any{"content": sig, "publicKey": map[string]string{"content": base64.StdEncoding.EncodeToString([]byte(certPEM))}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	promise := map[string]any{"body": base64.StdEncoding.EncodeToString(body), "integratedTime": at.Unix(),
		"logID": hex.EncodeToString(logID(t, log)), "logIndex": 7}
	canonical, err := json.Marshal(promise) // sorted keys, no spaces: canonical JSON
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(canonical)
	set, err := ecdsa.SignASN1(rand.Reader, log, h[:])
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(map[string]any{"SignedEntryTimestamp": set, "Payload": promise})
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// keylessBundle signs d as cosign v3 does with a certificate: a DSSE
// envelope in a bundle carrying the certificate.
func keylessBundle(t *testing.T, s signature.Signer, certPEM string, d digest.Digest) []byte {
	t.Helper()
	env := envelope(t, s, d)
	block, _ := pem.Decode([]byte(certPEM))
	b, err := json.Marshal(map[string]any{
		"mediaType":            cosign.BundleType,
		"verificationMaterial": map[string]any{"certificate": map[string]any{"rawBytes": block.Bytes}},
		"dsseEnvelope":         json.RawMessage(env),
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func verifier(t *testing.T, opts ...cosign.VerifierOption) *cosign.Verifier {
	t.Helper()
	v, err := cosign.NewVerifier(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestKeyless(t *testing.T) {
	const issuer, subject = "https://issuer.test", "dev@example.test"
	d, other := digest.FromString("image"), digest.FromString("another image")
	fulcio, stranger := newCA(t, "fulcio"), newCA(t, "stranger")
	v := verifier(t, cosign.WithTrustedRoot(trustedRoot(t, fulcio, nil)))
	dev := trust.Signers{Identities: []trust.Identity{{Issuer: "https://other.test", Subject: subject}, {Issuer: issuer, Subject: subject}}}

	signer, cert := fulcio.issue(t, issuer, subject, time.Now().Add(-time.Minute))
	payload, sig := legacy(t, signer, d)
	legacySig := trust.LegacySignature{Payload: payload, Signature: sig, Certificate: cert}
	bundled := keylessBundle(t, signer, cert, d)
	if err := v.VerifyLegacy(legacySig, d, dev); err != nil {
		t.Errorf("legacy keyless signature: %v", err)
	}
	if err := v.VerifyBundle(bundled, d, dev); err != nil {
		t.Errorf("keyless bundle: %v", err)
	}
	byExpr := trust.Signers{Identities: []trust.Identity{{Issuer: issuer, SubjectRegExp: `[a-z]+@example\.test`}}}
	if err := v.VerifyBundle(bundled, d, byExpr); err != nil {
		t.Errorf("keyless bundle, subject by expression: %v", err)
	}

	strangerSigner, strangerCert := stranger.issue(t, issuer, subject, time.Now().Add(-time.Minute))
	strangerPayload, strangerSig := legacy(t, strangerSigner, d)
	expiredSigner, expiredCert := fulcio.issue(t, issuer, subject, time.Now().Add(-3*time.Hour))
	expiredPayload, expiredSig := legacy(t, expiredSigner, d)
	_, ownKey := keyPair(t, "ecdsa")
	_, anotherCert := fulcio.issue(t, issuer, subject, time.Now().Add(-time.Minute))
	for what, err := range map[string]error{
		"another subject":       v.VerifyBundle(bundled, d, trust.Signers{Identities: []trust.Identity{{Issuer: issuer, Subject: "eve@example.test"}}}),
		"another issuer":        v.VerifyBundle(bundled, d, trust.Signers{Identities: []trust.Identity{{Issuer: "https://evil.test", Subject: subject}}}),
		"an unanchored match":   v.VerifyBundle(bundled, d, trust.Signers{Identities: []trust.Identity{{Issuer: issuer, SubjectRegExp: `dev`}}}),
		"another image":         v.VerifyBundle(bundled, other, dev),
		"legacy another image":  v.VerifyLegacy(legacySig, other, dev),
		"no identity":           v.VerifyBundle(bundled, d, trust.Signers{Keys: []string{ownKey}}),
		"no trusted root":       verifier(t).VerifyLegacy(legacySig, d, dev),
		"another CA":            v.VerifyLegacy(trust.LegacySignature{Payload: strangerPayload, Signature: strangerSig, Certificate: strangerCert}, d, dev),
		"another CA, bundle":    v.VerifyBundle(keylessBundle(t, strangerSigner, strangerCert, d), d, dev),
		"an expired cert":       v.VerifyLegacy(trust.LegacySignature{Payload: expiredPayload, Signature: expiredSig, Certificate: expiredCert}, d, dev),
		"a certificate swapped": v.VerifyLegacy(trust.LegacySignature{Payload: payload, Signature: sig, Certificate: anotherCert}, d, dev),
		"not PEM":               v.VerifyLegacy(trust.LegacySignature{Payload: payload, Signature: sig, Certificate: "x"}, d, dev),
	} {
		if !errors.Is(err, cosign.ErrUnverified) {
			t.Errorf("%s: %v, want ErrUnverified", what, err)
		}
		t.Logf("%s: %v", what, err)
	}

	if err := verifier(t).CheckIdentity(trust.Identity{Issuer: issuer, Subject: subject}); !errors.Is(err, cosign.ErrNoTrustedRoot) {
		t.Errorf("identity without a trusted root: %v", err)
	}
	if err := v.CheckIdentity(trust.Identity{Issuer: issuer, SubjectRegExp: "("}); err == nil || !strings.Contains(err.Error(), "subjectRegExp") {
		t.Errorf("bad expression: %v", err)
	}
}

// A legacy keyless signature logged in a transparency log the trusted
// root lists verifies with its inclusion promise, and not without it: the
// certificate, expired now, was valid when the log saw the signature.
func TestKeylessTransparencyLog(t *testing.T) {
	const issuer, subject = "https://issuer.test", "dev@example.test"
	d := digest.FromString("image")
	fulcio := newCA(t, "fulcio")
	rekor, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	v := verifier(t, cosign.WithTrustedRoot(trustedRoot(t, fulcio, rekor)))
	dev := trust.Signers{Identities: []trust.Identity{{Issuer: issuer, Subject: subject}}}

	issued := time.Now().Add(-3 * time.Hour)
	at := issued.Add(5 * time.Minute)
	signer, cert := fulcio.issue(t, issuer, subject, issued)
	payload, sig := legacy(t, signer, d)
	logged := trust.LegacySignature{Payload: payload, Signature: sig, Certificate: cert, RekorBundle: rekorBundle(t, rekor, at, payload, sig, cert)}
	if err := v.VerifyLegacy(logged, d, dev); err != nil {
		t.Fatalf("logged legacy signature: %v", err)
	}
	forger, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	otherPayload, otherSig := legacy(t, signer, digest.FromString("other"))
	for what, err := range map[string]error{
		"not logged":              v.VerifyLegacy(trust.LegacySignature{Payload: payload, Signature: sig, Certificate: cert}, d, dev),
		"a forged promise":        v.VerifyLegacy(trust.LegacySignature{Payload: payload, Signature: sig, Certificate: cert, RekorBundle: rekorBundle(t, forger, at, payload, sig, cert)}, d, dev),
		"another entry's promise": v.VerifyLegacy(trust.LegacySignature{Payload: payload, Signature: sig, Certificate: cert, RekorBundle: rekorBundle(t, rekor, at, otherPayload, otherSig, cert)}, d, dev),
		"a promise not JSON":      v.VerifyLegacy(trust.LegacySignature{Payload: payload, Signature: sig, Certificate: cert, RekorBundle: "{"}, d, dev),
	} {
		if !errors.Is(err, cosign.ErrUnverified) {
			t.Errorf("%s: %v, want ErrUnverified", what, err)
		}
		t.Logf("%s: %v", what, err)
	}
}
