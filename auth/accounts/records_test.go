package accounts_test

import (
	"fmt"
	"testing"

	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/internal/testbolt"
	"github.com/berthreg/berth/meta/metatest"
)

// TestRecordTypes round-trips every field of the account records through
// the bbolt backend, with the record-type checks of metatest.
func TestRecordTypes(t *testing.T) {
	s := testbolt.Open(t)
	metatest.RecordType(t, s, accounts.Projects, accounts.Project{
		ID: 12, Name: "team", Public: true, CreatedBy: "admin", CreatedAt: metatest.At(1), UpdatedAt: metatest.At(2),
		Members: []accounts.Member{{ID: 1, Kind: "user", Name: "alice", Role: "developer"}, {ID: 7, Kind: "group", Name: "devs", Role: "guest"}},
		Grants:  []accounts.MemberGrant{{ID: 2, Kind: "group", Name: "ci", Pattern: "team/app-*", Actions: []string{"pull", "push"}}},
		Scan: accounts.ProjectScan{AutoScan: true, Scanner: "trivy", PreventVulnerable: true, Severity: "High", DenyUnscanned: true,
			Allowlist: []accounts.AllowedVulnerability{{ID: "CVE-2023-5363", ExpiresAt: metatest.At(50)}, {ID: "CVE-2024-0727"}}},
	}, func(p accounts.Project, i int) accounts.Project {
		p.Members, p.Grants = nil, nil
		if i > 0 {
			p.Name = fmt.Sprintf("project-%02d", i)
		}
		return p
	})
	metatest.RecordType(t, s, accounts.Users, accounts.User{
		Name: "alice", Email: "alice@example.org", FullName: "Alice A.", PasswordHash: []byte("$2a$10$hash"),
		CLISecretHash: []byte("$2a$10$cli"), Source: "oidc", Subject: "sub-1", Groups: []string{"devs", "ops"}, Admin: true, Disabled: true,
		Sessions:  []accounts.UserSession{{IDHash: "9f86d081884c7d65", ExpiresAt: metatest.At(20)}, {IDHash: "60303ae22b998861", ExpiresAt: metatest.At(21)}},
		CreatedAt: metatest.At(3), UpdatedAt: metatest.At(4),
	}, func(u accounts.User, i int) accounts.User {
		u.Admin = false
		if i > 0 {
			u.Name = fmt.Sprintf("user-%02d", i)
		}
		return u
	})
	metatest.RecordType(t, s, accounts.Robots, accounts.Robot{
		Name: "robot$team+ci", Project: "team", Description: "CI", SecretHash: []byte("$2a$10$robot"),
		Grants: []accounts.Grant{
			{Project: "team", Pattern: "team/app-*", Actions: []string{"pull", "push"}},
			{Project: "team", Resource: "robot", Actions: []string{"read", "create"}},
		},
		ExpiresAt: metatest.At(100), Disabled: true, CreatedBy: "alice", CreatedAt: metatest.At(5), UpdatedAt: metatest.At(6),
	}, func(r accounts.Robot, i int) accounts.Robot {
		r.Grants = nil
		if i > 0 {
			r.Name = fmt.Sprintf("robot$team+r%02d", i)
		}
		return r
	})
}
