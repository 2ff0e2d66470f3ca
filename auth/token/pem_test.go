package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"testing"
	"time"
)

// TestKeyPEM: a generated key survives MarshalKey and ParseKey and signs
// tokens the original's verifier accepts; PKCS#1 and SEC 1 blocks are
// read too; anything else is ErrBadKey, never a panic.
func TestKeyPEM(t *testing.T) {
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := MarshalKey(k)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	iss, err := NewIssuer(back, "berth-token", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	kid, err := KeyID(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier("berth-token", "registry", map[string]crypto.PublicKey{kid: k.Public()})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := iss.Issue("alice", "registry", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(tok.Token); err != nil {
		t.Fatalf("a token of the parsed key, by the original's verifier: %v", err)
	}

	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sec1, _ := x509.MarshalECPrivateKey(ek)
	for name, raw := range map[string][]byte{
		"PKCS#1": pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)}),
		"SEC 1":  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}),
	} {
		if _, err := ParseKey(raw); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	_, edk, _ := ed25519.GenerateKey(rand.Reader)
	edDER, _ := x509.MarshalPKCS8PrivateKey(edk)
	for name, raw := range map[string][]byte{
		"empty":        nil,
		"not PEM":      []byte("hello"),
		"garbage DER":  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("nope")}),
		"wrong type":   pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)}),
		"a public key": pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{0x30, 0}}),
	} {
		if _, err := ParseKey(raw); !errors.Is(err, ErrBadKey) {
			t.Errorf("%s: %v, want ErrBadKey", name, err)
		}
	}
	if k, err := ParseKey(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: edDER})); err != nil {
		t.Errorf("an Ed25519 key is a signer ParseKey reads (NewIssuer refuses it): %v", err)
	} else if _, err := NewIssuer(k, "berth-token", time.Minute); err == nil {
		t.Error("NewIssuer accepted an Ed25519 key")
	}
}
