package accounts_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/internal/testbolt"
	"github.com/berthreg/berth/meta/metatest"
)

// at is a fixed instant with a sub-second part, in another zone than UTC.
func at(n int) time.Time {
	return time.Date(2025, 3, 14, 15, 9, 26, 535897000, time.FixedZone("UTC+2", 7200)).Add(time.Duration(n) * time.Second)
}

// TestRecordTypes round-trips every field of the account records through
// the bbolt backend, with the record-type checks of metatest.
func TestRecordTypes(t *testing.T) {
	s := testbolt.Open(t)
	metatest.RecordType(t, s, accounts.Projects, accounts.Project{
		ID: 12, Name: "team", Public: true, CreatedBy: "admin", CreatedAt: at(1), UpdatedAt: at(2),
		Members: []accounts.Member{{ID: 1, Kind: "user", Name: "alice", Role: "developer"}, {ID: 7, Kind: "group", Name: "devs", Role: "guest"}},
		Grants:  []accounts.MemberGrant{{ID: 2, Kind: "group", Name: "ci", Pattern: "team/app-*", Actions: []string{"pull", "push"}}},
		Scan: accounts.ProjectScan{AutoScan: true, Scanner: "trivy", PreventVulnerable: true, Severity: "High", DenyUnscanned: true,
			Allowlist: []accounts.AllowedVulnerability{{ID: "CVE-2023-5363", ExpiresAt: at(50)}, {ID: "CVE-2024-0727"}}},
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
		Sessions:  []accounts.UserSession{{IDHash: "9f86d081884c7d65", ExpiresAt: at(20)}, {IDHash: "60303ae22b998861", ExpiresAt: at(21)}},
		CreatedAt: at(3), UpdatedAt: at(4),
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
		ExpiresAt: at(100), Disabled: true, CreatedBy: "alice", CreatedAt: at(5), UpdatedAt: at(6),
	}, func(r accounts.Robot, i int) accounts.Robot {
		r.Grants = nil
		if i > 0 {
			r.Name = fmt.Sprintf("robot$team+r%02d", i)
		}
		return r
	})
}
