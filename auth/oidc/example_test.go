package oidc_test

import (
	"fmt"

	"github.com/berthreg/berth/auth/oidc"
	"github.com/berthreg/berth/auth/session"
)

func Example() {
	sessions, err := session.New([]byte("keep this secret: 32 bytes or more"))
	if err != nil {
		panic(err)
	}
	_, err = oidc.New(oidc.Config{
		Issuer:      "https://accounts.example.com",
		ClientID:    "berth",
		RedirectURL: "https://registry.example.com/c/oidc/callback",
		GroupsClaim: "groups",
		AdminGroup:  "registry-admins",
	}, sessions)
	fmt.Println(err)
	// Mount the client's Begin at /c/oidc/login and Complete at
	// /c/oidc/callback (the api package does, with api.WithOIDC).
	fmt.Println(oidc.LocalPath("https://elsewhere.example/"))
	// Output:
	// <nil>
	// /
}
