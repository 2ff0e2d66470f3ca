// Package testpg gives tests a fresh PostgreSQL database, and a
// meta/postgres store on it, on the server named by
// BERTH_TEST_POSTGRES_DSN (scripts/postgres.sh starts one and sets it).
// Without that variable the tests that ask for one are skipped.
//
//	func TestOnPostgres(t *testing.T) {
//		s := testpg.Open(t) // a *postgres.Store on an empty database, gone after the test
//		...
//	}
package testpg

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/berthreg/berth/meta/postgres"
)

// EnvDSN names the variable holding the DSN of a PostgreSQL server on
// which tests may create and drop databases (a superuser's, or one with
// CREATEDB).
const EnvDSN = "BERTH_TEST_POSTGRES_DSN"

// DSN returns the server's DSN, skipping the test when EnvDSN is unset.
func DSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvDSN)
	if dsn == "" {
		t.Skipf("%s is not set: run the test under scripts/postgres.sh (scripts/postgres.sh -- go test ./...)", EnvDSN)
	}
	return dsn
}

// Database creates an empty database on the server, dropped (WITH
// (FORCE), so open connections do not keep it) when the test ends, and
// returns its DSN. It skips the test when EnvDSN is unset.
func Database(t testing.TB) string {
	t.Helper()
	dsn := DSN(t)
	var b [8]byte
	_, _ = rand.Read(b[:])
	name := "berth_test_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("testpg: connect to %s: %v", EnvDSN, err)
	}
	defer admin.Close(ctx)
	// The C locale from template0: byte order whatever the server's default.
	if _, err := admin.Exec(ctx, fmt.Sprintf(`CREATE DATABASE %s TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`, name)); err != nil {
		t.Fatalf("testpg: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		admin, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("testpg: drop database %s: %v", name, err)
			return
		}
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, name)); err != nil {
			t.Errorf("testpg: drop database %s: %v", name, err)
		}
	})
	out, err := WithDatabase(dsn, name)
	if err != nil {
		t.Fatalf("testpg: %v", err)
	}
	return out
}

// Open returns a store on a fresh database (see Database), closed and
// dropped when the test ends. opts are passed to postgres.Open.
func Open(t testing.TB, opts ...postgres.Option) *postgres.Store {
	t.Helper()
	dsn := Database(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := postgres.Open(ctx, dsn, opts...)
	if err != nil {
		t.Fatalf("testpg: open store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// WithDatabase returns dsn (a postgres:// URL or key=value string) naming
// database name instead.
func WithDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("parse %s: %w", EnvDSN, err)
		}
		u.Path = "/" + name
		return u.String(), nil
	}
	return dsn + " dbname=" + name, nil
}
