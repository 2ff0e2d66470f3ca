package token

import (
	"github.com/golang-jwt/jwt/v5"

	"github.com/berthreg/berth/auth"
)

// Claims are the claims of a registry token: the registered ones plus the
// granted accesses.
type Claims struct {
	jwt.RegisteredClaims
	// Access lists what the bearer may do, one entry per resource.
	Access []auth.Access `json:"access"`
}

// Allows reports whether the claims grant action on resource ("*" in the
// claim grants every action).
func (c *Claims) Allows(r auth.Resource, action string) bool {
	for _, a := range c.Access {
		if a.Type != r.Type || a.Name != r.Name {
			continue
		}
		for _, got := range a.Actions {
			if got == action || got == auth.ActionAll {
				return true
			}
		}
	}
	return false
}
