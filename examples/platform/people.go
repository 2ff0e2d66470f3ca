package main

import (
	"context"
	"fmt"
	"sync"

	"golang.org/x/crypto/bcrypt"

	"github.com/berthreg/berth/auth"
)

// People are the platform's own user accounts: the registry keeps no copy
// of them, it asks Authenticate. A person belongs to one tenant, which
// the registry sees as the group tenantGroup(tenant) — the group the
// tenant's project has as a member.
type People struct {
	mu     sync.RWMutex
	byName map[string]person
}

type person struct {
	hash   []byte
	tenant string
	admin  bool
}

// NewPeople returns an empty account list.
func NewPeople() *People { return &People{byName: map[string]person{}} }

// Add creates or replaces a person of tenant ("" for none); an admin is a
// system administrator in the registry too.
func (pp *People) Add(name, password, tenant string, admin bool) error {
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		return fmt.Errorf("people: %w", err)
	}
	pp.mu.Lock()
	defer pp.mu.Unlock()
	pp.byName[name] = person{hash: h, tenant: tenant, admin: admin}
	return nil
}

// Authenticate implements auth.Authenticator for the registry: the
// person's name, whether they administer the platform, and their
// tenant's group.
func (pp *People) Authenticate(_ context.Context, name, secret string) (auth.Principal, error) {
	pp.mu.RLock()
	p, ok := pp.byName[name]
	pp.mu.RUnlock()
	if !ok || bcrypt.CompareHashAndPassword(p.hash, []byte(secret)) != nil {
		return auth.Principal{}, auth.ErrBadCredentials
	}
	pr := auth.Principal{Name: name, Kind: auth.User, Admin: p.admin, Source: "platform"}
	if p.tenant != "" {
		pr.Groups = []string{tenantGroup(p.tenant)}
	}
	return pr, nil
}

// tenantGroup is the registry group of a tenant's people.
func tenantGroup(tenant string) string { return "tenant-" + tenant }
