package server

import "golang.org/x/crypto/bcrypt"

// testConfig is the default configuration with bcrypt at its minimum cost
// (the tests create and check many passwords, and at the production cost
// each costs tens of milliseconds of CPU), and outbound calls allowed to
// loopback, where the tests' receivers, registries and scanner adapters
// listen.
func testConfig() Config {
	c := DefaultConfig()
	c.Auth.HashCost = bcrypt.MinCost
	c.Outbound.Allow = []string{"127.0.0.0/8", "::1"}
	return c
}
