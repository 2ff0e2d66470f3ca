package metatest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/berthreg/berth/meta"
)

// testTables checks the projects, users and robots tables: a round trip
// of every field, replacing, Delete, ErrNotFound, empty names, writes in a
// View, and List's order and paging.
func testTables(t *testing.T, s meta.Store) {
	project := meta.Project{
		ID: 12, Name: "team", Public: true, CreatedBy: "admin", CreatedAt: at(1), UpdatedAt: at(2),
		Members: []meta.Member{{ID: 1, Kind: "user", Name: "alice", Role: "developer"}, {ID: 7, Kind: "group", Name: "devs", Role: "guest"}},
		Grants:  []meta.MemberGrant{{ID: 2, Kind: "group", Name: "ci", Pattern: "team/app-*", Actions: []string{"pull", "push"}}},
		Scan: meta.ProjectScan{AutoScan: true, Scanner: "trivy", PreventVulnerable: true, Severity: "High", DenyUnscanned: true,
			Allowlist: []meta.AllowedVulnerability{{ID: "CVE-2023-5363", ExpiresAt: at(50)}, {ID: "CVE-2024-0727"}}},
	}
	user := meta.User{
		Name: "alice", Email: "alice@example.org", FullName: "Alice A.", PasswordHash: []byte("$2a$10$hash"),
		CLISecretHash: []byte("$2a$10$cli"), Source: "oidc", Subject: "sub-1", Groups: []string{"devs", "ops"}, Admin: true, Disabled: true,
		Sessions:  []meta.UserSession{{IDHash: "9f86d081884c7d65", ExpiresAt: at(20)}, {IDHash: "60303ae22b998861", ExpiresAt: at(21)}},
		CreatedAt: at(3), UpdatedAt: at(4),
	}
	robot := meta.Robot{
		Name: "robot$team+ci", Project: "team", Description: "CI", SecretHash: []byte("$2a$10$robot"),
		Grants: []meta.Grant{
			{Project: "team", Pattern: "team/app-*", Actions: []string{"pull", "push"}},
			{Project: "team", Resource: "robot", Actions: []string{"read", "create"}},
		},
		ExpiresAt: at(100), Disabled: true, CreatedBy: "alice", CreatedAt: at(5), UpdatedAt: at(6),
	}
	tableCase(t, s, "projects", meta.Tx.Projects, project, func(p meta.Project, n string) meta.Project {
		p.Name, p.Members, p.Grants = n, nil, nil
		return p
	}, func(p meta.Project) string { return p.Name })
	tableCase(t, s, "users", meta.Tx.Users, user, func(u meta.User, n string) meta.User {
		u.Name, u.Admin = n, false
		return u
	}, func(u meta.User) string { return u.Name })
	tableCase(t, s, "robots", meta.Tx.Robots, robot, func(r meta.Robot, n string) meta.Robot {
		r.Name, r.Grants = n, nil
		return r
	}, func(r meta.Robot) string { return r.Name })
}

// tableCase runs the table checks on one table: full is a record with every
// field set; variant derives another record with the given name.
func tableCase[T any](t *testing.T, s meta.Store, what string, table func(meta.Tx) meta.Table[T], full T,
	variant func(T, string) T, name func(T) string) {
	t.Run(what, func(t *testing.T) {
		key := name(full)
		update(t, s, func(tx meta.Tx) error {
			_, err := table(tx).Get(key)
			wantNotFound(t, "Get before Put", err)
			wantNotFound(t, "Delete before Put", table(tx).Delete(key))
			var empty T
			if err := table(tx).Put(empty); err == nil {
				t.Error("Put of a record without a name succeeded")
			}
			return table(tx).Put(full)
		})
		view(t, s, func(tx meta.Tx) error {
			got, err := table(tx).Get(key)
			check(t, "Get", err)
			if !sameRecord(got, full) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, full)
			}
			if err := table(tx).Put(full); !errors.Is(err, meta.ErrReadOnly) {
				t.Errorf("Put in a View: %v, want ErrReadOnly", err)
			}
			return nil
		})
		replaced := variant(full, key)
		update(t, s, func(tx meta.Tx) error { return table(tx).Put(replaced) })
		view(t, s, func(tx meta.Tx) error {
			got, err := table(tx).Get(key)
			check(t, "Get", err)
			if !sameRecord(got, replaced) {
				t.Errorf("replaced:\n got %+v\nwant %+v", got, replaced)
			}
			return nil
		})

		names := []string{key}
		for i := range 11 {
			names = append(names, fmt.Sprintf("%s-%02d", what, i))
		}
		update(t, s, func(tx meta.Tx) error {
			for _, n := range shuffled(names[1:]) {
				check(t, "Put", table(tx).Put(variant(full, n)))
			}
			return nil
		})
		slices.Sort(names)
		view(t, s, func(tx meta.Tx) error {
			list := func(after string, limit int) []string {
				t.Helper()
				vs, err := table(tx).List(after, limit)
				check(t, "List", err)
				out := make([]string, len(vs))
				for i, v := range vs {
					out[i] = name(v)
				}
				return out
			}
			wantStrings(t, "List(\"\", 0)", list("", 0), names)
			wantStrings(t, "List(\"\", 3)", list("", 3), names[:3])
			wantStrings(t, "List after the 5th", list(names[4], 2), names[5:7])
			for _, limit := range []int{1, 4, 12} {
				wantStrings(t, "paged", pageAll(t, what, limit, list), names)
			}
			return nil
		})
		update(t, s, func(tx meta.Tx) error { return table(tx).Delete(names[3]) })
		view(t, s, func(tx meta.Tx) error {
			_, err := table(tx).Get(names[3])
			wantNotFound(t, "Get after Delete", err)
			got, err := table(tx).List("", 0)
			check(t, "List", err)
			if len(got) != len(names)-1 {
				t.Errorf("List after Delete: %d records, want %d", len(got), len(names)-1)
			}
			return nil
		})
	})
}

// sameRecord compares two records field by field, times by instant (a
// backend may keep another zone) and empty slices as absent.
func sameRecord[T any](a, b T) bool {
	return reflect.DeepEqual(normalize(a), normalize(b))
}

// normalize returns a copy of the struct v with its time fields in UTC and
// its empty slices nil, in nested structs and slices of them too.
func normalize[T any](v T) T {
	normalizeValue(reflect.ValueOf(&v).Elem())
	return v
}

func normalizeValue(rv reflect.Value) {
	switch {
	case rv.Type() == reflect.TypeFor[time.Time]():
		rv.Set(reflect.ValueOf(rv.Interface().(time.Time).UTC()))
	case rv.Kind() == reflect.Struct:
		for i := range rv.NumField() {
			if rv.Type().Field(i).IsExported() {
				normalizeValue(rv.Field(i))
			}
		}
	case rv.Kind() == reflect.Slice && rv.Len() == 0:
		rv.Set(reflect.Zero(rv.Type()))
	case rv.Kind() == reflect.Slice:
		cp := reflect.MakeSlice(rv.Type(), rv.Len(), rv.Len())
		reflect.Copy(cp, rv)
		for i := range cp.Len() {
			normalizeValue(cp.Index(i))
		}
		rv.Set(cp)
	}
}
