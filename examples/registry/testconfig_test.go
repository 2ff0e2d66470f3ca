package main

import "golang.org/x/crypto/bcrypt"

// testConfig is the default configuration with bcrypt at its minimum cost:
// the tests create and check many passwords, and at the production cost
// each costs tens of milliseconds of CPU.
func testConfig() Config {
	c := defaultConfig()
	c.Auth.HashCost = bcrypt.MinCost
	return c
}
