package cosign_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/opencontainers/go-digest"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/berthreg/berth/trust"
	"github.com/berthreg/berth/trust/cosign"
)

// A legacy cosign signature verifies with its key and names the image.
func Example() {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer, _ := signature.LoadSigner(priv, crypto.SHA256)
	pemKey, _ := cryptoutils.MarshalPublicKeyToPEM(priv.Public())

	image := digest.FromString("an image manifest")
	payload := []byte(fmt.Sprintf(`{"critical":{"image":{"docker-manifest-digest":%q},"type":"cosign container image signature"}}`, image))
	sig, _ := signer.SignMessage(bytes.NewReader(payload))

	v, _ := cosign.NewVerifier() // cosign.WithTrustedRoot for keyless signatures
	legacy := trust.LegacySignature{Payload: payload, Signature: base64.StdEncoding.EncodeToString(sig)}
	project := trust.Signers{Keys: []string{string(pemKey)}}
	fmt.Println(v.VerifyLegacy(legacy, image, project))
	err := v.VerifyLegacy(legacy, digest.FromString("another"), project)
	fmt.Println(errors.Is(err, cosign.ErrUnverified))
	// Output:
	// <nil>
	// true
}
