package server

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/bolt"
	"github.com/berthreg/berth/meta/postgres"
)

// MetadataConfig selects the metadata store: bbolt in the data directory
// for one instance, or PostgreSQL for one or several instances sharing
// it (with blob storage they share too: s3 or oss).
type MetadataConfig struct {
	// Driver is "bolt" (default: <dataDir>/meta.db) or "postgres"
	// (BERTH_METADATA_DRIVER).
	Driver string `yaml:"driver"`
	// Postgres configures the postgres driver.
	Postgres PostgresConfig `yaml:"postgres"`
	// Refresh is how often each instance reads the store's change
	// counters to reload what it holds in memory (the authorizer's
	// rules, the stored schedules, the replication policies' schedules):
	// a change made through one instance is in force on every other
	// within Refresh plus the reload's time (BERTH_METADATA_REFRESH,
	// default 1s; 10ms to 10m). Each read is one small transaction.
	Refresh time.Duration `yaml:"refresh"`
}

// PostgresConfig configures the PostgreSQL metadata store.
type PostgresConfig struct {
	// DSN names the database: a postgres:// URL or a key=value string,
	// as libpq takes them (BERTH_METADATA_POSTGRES_DSN). The schema is
	// created or upgraded at start.
	DSN string `yaml:"dsn"`
	// MaxConns caps each instance's connection pool (0: the DSN's
	// pool_max_conns, else max(4, CPUs)); instances × MaxConns must stay
	// below the server's max_connections
	// (BERTH_METADATA_POSTGRES_MAX_CONNS).
	MaxConns int `yaml:"maxConns"`
	// MinConns keeps that many connections open
	// (BERTH_METADATA_POSTGRES_MIN_CONNS).
	MinConns int `yaml:"minConns"`
	// StatementTimeout cancels a statement running longer; its request
	// gets 503 (0: the server's setting;
	// BERTH_METADATA_POSTGRES_STATEMENT_TIMEOUT).
	StatementTimeout time.Duration `yaml:"statementTimeout"`
	// AcquireTimeout bounds the wait for a free connection of the pool;
	// a request that waits longer gets 503 (0: the store's default;
	// BERTH_METADATA_POSTGRES_ACQUIRE_TIMEOUT).
	AcquireTimeout time.Duration `yaml:"acquireTimeout"`
	// ReadCache keeps resolved tags in memory so that a pull of a tag
	// pulled before costs no round trip (postgres.WithReadCache, polling
	// its drop log every metadata.refresh): this instance's own changes
	// show at once, another instance's tag moves and deletions within two
	// metadata.refresh (BERTH_METADATA_POSTGRES_READ_CACHE, default
	// true).
	ReadCache *bool `yaml:"readCache"`
}

// validate checks the metadata settings.
func (c MetadataConfig) validate() error {
	if c.Refresh < 10*time.Millisecond || c.Refresh > 10*time.Minute {
		return fmt.Errorf("config: metadata.refresh %s must be between 10ms and 10m", c.Refresh)
	}
	switch c.Driver {
	case "bolt":
		if c.Postgres != (PostgresConfig{}) {
			return fmt.Errorf("config: metadata.postgres is set, but metadata.driver is %q", c.Driver)
		}
		return nil
	case "postgres":
	default:
		return fmt.Errorf("config: metadata.driver %q must be bolt or postgres", c.Driver)
	}
	p := c.Postgres
	switch {
	case p.DSN == "":
		return fmt.Errorf("config: metadata.postgres.dsn must be set when metadata.driver is postgres")
	case p.MaxConns < 0:
		return fmt.Errorf("config: metadata.postgres.maxConns %d must not be negative", p.MaxConns)
	case p.MinConns < 0 || (p.MaxConns > 0 && p.MinConns > p.MaxConns):
		return fmt.Errorf("config: metadata.postgres.minConns %d must be between 0 and maxConns", p.MinConns)
	case p.StatementTimeout < 0:
		return fmt.Errorf("config: metadata.postgres.statementTimeout %s must not be negative", p.StatementTimeout)
	case p.AcquireTimeout < 0:
		return fmt.Errorf("config: metadata.postgres.acquireTimeout %s must not be negative", p.AcquireTimeout)
	}
	return nil
}

// openMetadata opens the store cfg selects.
func openMetadata(ctx context.Context, cfg Config, logger *slog.Logger) (meta.Store, error) {
	if cfg.Metadata.Driver != "postgres" {
		s, err := bolt.Open(filepath.Join(cfg.DataDir, "meta.db"))
		if err != nil {
			return nil, fmt.Errorf("metadata: %w", err)
		}
		return s, nil
	}
	p := cfg.Metadata.Postgres
	opts := []postgres.Option{postgres.WithLogger(logger)}
	if p.MaxConns > 0 {
		opts = append(opts, postgres.WithMaxConns(p.MaxConns))
	}
	if p.MinConns > 0 {
		opts = append(opts, postgres.WithMinConns(p.MinConns))
	}
	if p.StatementTimeout > 0 {
		opts = append(opts, postgres.WithStatementTimeout(p.StatementTimeout))
	}
	if p.AcquireTimeout > 0 {
		opts = append(opts, postgres.WithAcquireTimeout(p.AcquireTimeout))
	}
	if p.ReadCache == nil || *p.ReadCache {
		opts = append(opts, postgres.WithReadCache(cfg.Metadata.Refresh))
	}
	s, err := postgres.Open(ctx, p.DSN, opts...)
	if err != nil {
		// The DSN may hold a password: name the key, not its value.
		return nil, fmt.Errorf("metadata.postgres.dsn: %w", err)
	}
	return s, nil
}
