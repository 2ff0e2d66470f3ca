package cosign_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/dsse"

	"github.com/berthreg/berth/trust/cosign"
)

// keyPair makes a signer and its PEM public key.
func keyPair(t *testing.T, kind string) (signature.Signer, string) {
	t.Helper()
	var priv crypto.Signer
	var err error
	switch kind {
	case "ecdsa":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "rsa":
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ed25519":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	s, err := signature.LoadSigner(priv, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	pemKey, err := cryptoutils.MarshalPublicKeyToPEM(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	return s, string(pemKey)
}

func parse(t *testing.T, pemKey string) cosign.Key {
	t.Helper()
	k, err := cosign.ParseKey(pemKey)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// legacy signs d as cosign's simple signing does.
func legacy(t *testing.T, s signature.Signer, d digest.Digest) ([]byte, string) {
	t.Helper()
	payload := []byte(fmt.Sprintf(`{"critical":{"identity":{"docker-reference":"reg/app"},"image":{"docker-manifest-digest":%q},"type":"cosign container image signature"},"optional":null}`, d))
	sig, err := s.SignMessage(bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	return payload, base64.StdEncoding.EncodeToString(sig)
}

// envelope is cosign v3's signature of d: a DSSE envelope of an in-toto
// statement about d.
func envelope(t *testing.T, s signature.Signer, d digest.Digest) []byte {
	t.Helper()
	statement := fmt.Sprintf(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{%q:%q}}],"predicateType":"https://sigstore.dev/cosign/sign/v1","predicate":{}}`,
		d.Algorithm(), d.Encoded())
	env, err := dsse.WrapSigner(s, "application/vnd.in-toto+json").SignMessage(bytes.NewReader([]byte(statement)))
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// bundleOf signs d as cosign v3 does: a DSSE envelope of an in-toto
// statement about d, in a Sigstore bundle with a public key hint.
func bundleOf(t *testing.T, s signature.Signer, d digest.Digest) []byte {
	t.Helper()
	env := envelope(t, s, d)
	b, err := json.Marshal(map[string]any{
		"mediaType":            cosign.BundleType,
		"verificationMaterial": map[string]any{"publicKey": map[string]string{"hint": "test"}},
		"dsseEnvelope":         json.RawMessage(env),
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVerify(t *testing.T) {
	d, other := digest.FromString("image"), digest.FromString("another image")
	for _, kind := range []string{"ecdsa", "rsa", "ed25519"} {
		t.Run(kind, func(t *testing.T) {
			signer, pemKey := keyPair(t, kind)
			_, strangerPEM := keyPair(t, kind)
			key, stranger := parse(t, pemKey), parse(t, strangerPEM)

			payload, sig := legacy(t, signer, d)
			if err := cosign.VerifyLegacy(payload, sig, d, []cosign.Key{stranger, key}); err != nil {
				t.Errorf("legacy signature with its key: %v", err)
			}
			for what, err := range map[string]error{
				"another key":          cosign.VerifyLegacy(payload, sig, d, []cosign.Key{stranger}),
				"no key":               cosign.VerifyLegacy(payload, sig, d, nil),
				"another image":        cosign.VerifyLegacy(payload, sig, other, []cosign.Key{key}),
				"a changed payload":    cosign.VerifyLegacy(bytes.Replace(payload, []byte("reg/app"), []byte("reg/evil"), 1), sig, d, []cosign.Key{key}),
				"a signature not b64":  cosign.VerifyLegacy(payload, "%%%", d, []cosign.Key{key}),
				"a payload not cosign": cosign.VerifyLegacy([]byte("[]"), sig, d, []cosign.Key{key}),
			} {
				if !errors.Is(err, cosign.ErrUnverified) {
					t.Errorf("legacy signature, %s: %v, want ErrUnverified", what, err)
				}
			}

			b := bundleOf(t, signer, d)
			if err := cosign.VerifyBundle(b, d, []cosign.Key{stranger, key}); err != nil {
				t.Errorf("bundle with its key: %v", err)
			}
			for what, err := range map[string]error{
				"another key":   cosign.VerifyBundle(b, d, []cosign.Key{stranger}),
				"no key":        cosign.VerifyBundle(b, d, nil),
				"another image": cosign.VerifyBundle(b, other, []cosign.Key{key}),
				"not a bundle":  cosign.VerifyBundle([]byte(`{"x":1}`), d, []cosign.Key{key}),
			} {
				if !errors.Is(err, cosign.ErrUnverified) {
					t.Errorf("bundle, %s: %v, want ErrUnverified", what, err)
				}
			}
		})
	}
	if _, err := cosign.ParseKey("not a key"); err == nil {
		t.Error("ParseKey accepted garbage")
	}
}
