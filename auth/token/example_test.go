package token_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/token"
)

// Example issues a token granting a pull and verifies it as the registry
// does.
func Example() {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	iss, err := token.NewIssuer(key, "berth-token", 5*time.Minute)
	if err != nil {
		panic(err)
	}
	pull := []auth.Access{{Type: auth.TypeRepository, Name: "library/alpine", Actions: []string{auth.ActionPull}}}
	tok, err := iss.Issue("alice", "berth-registry", pull)
	if err != nil {
		panic(err)
	}

	kid, pub := iss.PublicKey()
	v, err := token.NewVerifier("berth-token", "berth-registry", map[string]crypto.PublicKey{kid: pub})
	if err != nil {
		panic(err)
	}
	c, err := v.Verify(tok.Token)
	if err != nil {
		panic(err)
	}
	alpine := auth.Resource{Type: auth.TypeRepository, Name: "library/alpine"}
	fmt.Println(c.Subject, c.Allows(alpine, auth.ActionPull), c.Allows(alpine, auth.ActionPush))
	// Output: alice true false
}
