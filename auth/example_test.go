package auth_test

import (
	"fmt"

	"github.com/berthreg/berth/auth"
)

// ExampleParseScopes parses the scope parameters of a token request.
func ExampleParseScopes() {
	access, err := auth.ParseScopes([]string{"repository:team/app:pull,push repository:team/base:pull"})
	if err != nil {
		panic(err)
	}
	for _, a := range access {
		fmt.Println(a.Name, a.Actions)
	}
	// Output:
	// team/app [pull push]
	// team/base [pull]
}
