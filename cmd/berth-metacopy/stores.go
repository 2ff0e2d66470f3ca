package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/bolt"
	"github.com/berthreg/berth/meta/postgres"
)

// spec names a store: a backend and where its data is.
type spec struct {
	backend string // "bolt" or "postgres"
	where   string // the file, or the DSN
}

// parseSpec reads backend:where.
func parseSpec(flag, s string) (spec, error) {
	backend, where, ok := strings.Cut(s, ":")
	switch {
	case s == "":
		return spec{}, fmt.Errorf("-%s is required: bolt:PATH or postgres:DSN", flag)
	case !ok || (backend != "bolt" && backend != "postgres"):
		return spec{}, fmt.Errorf("-%s %q: want bolt:PATH or postgres:DSN", flag, s)
	case where == "":
		return spec{}, fmt.Errorf("-%s %q: the %s store needs a %s after the colon", flag, s, backend, map[string]string{"bolt": "file", "postgres": "DSN"}[backend])
	}
	if backend == "bolt" {
		abs, err := filepath.Abs(where)
		if err != nil {
			return spec{}, fmt.Errorf("-%s %q: %w", flag, s, err)
		}
		where = abs
	}
	return spec{backend, where}, nil
}

// String names the store without the secrets a DSN may hold.
func (s spec) String() string {
	if s.backend == "bolt" {
		return "bolt:" + s.where
	}
	cfg, err := pgx.ParseConfig(s.where)
	if err != nil {
		return "postgres (an unreadable DSN)"
	}
	return fmt.Sprintf("postgres://%s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, cfg.Database)
}

// open opens the store; mustExist refuses a bbolt file that is not there
// (a source, or a comparison) rather than create an empty one.
func (s spec) open(ctx context.Context, role string, mustExist bool, lockTimeout time.Duration) (meta.Store, error) {
	if s.backend == "bolt" {
		if _, err := os.Stat(s.where); err != nil && (mustExist || !errors.Is(err, os.ErrNotExist)) {
			return nil, fmt.Errorf("%s %s: %w", role, s, err)
		}
		st, err := bolt.Open(s.where, bolt.Timeout(lockTimeout))
		if errors.Is(err, bolt.ErrLocked) {
			return nil, fmt.Errorf("%s %s is in use by another process (a registry still running on it?): stop it first, or wait longer with -lock-timeout: %w", role, s, err)
		}
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", role, s, err)
		}
		return st, nil
	}
	if _, err := pgx.ParseConfig(s.where); err != nil {
		return nil, fmt.Errorf("%s postgres: bad DSN: %w", role, err)
	}
	st, err := postgres.Open(ctx, s.where)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", role, s, err)
	}
	return st, nil
}
