package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/golang-migrate/migrate/v4"
	migratepgx "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// migrations are the schema's versions, numbered .up.sql files applied in
// order by golang-migrate. Each file runs as one simple-protocol query,
// which PostgreSQL runs as one transaction.
//
//go:embed migrations/*.sql
var migrations embed.FS

// MigrationsTable is the table in which golang-migrate records the schema
// version.
const MigrationsTable = "berth_schema_migrations"

// SchemaVersion is the schema version this build migrates to.
const SchemaVersion = 6

// migrateLockTimeout is how long Open waits for another process's
// migration.
const migrateLockTimeout = 10 * time.Minute

// migrateUp brings the database's schema to SchemaVersion. golang-migrate
// holds a session advisory lock (pg_advisory_lock, keyed by database,
// schema and table) from creating its table to the last migration, so
// concurrent Opens wait for the first and then find nothing to do.
func migrateUp(ctx context.Context, cfg *pgx.ConnConfig, logger *slog.Logger) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	// Up reads the version under the lock: read before, it could show
	// another process's migration half-way (golang-migrate marks the
	// version dirty while it runs one).
	switch err := withMigrate(ctx, cfg, (*migrate.Migrate).Up); {
	case errors.Is(err, migrate.ErrNoChange):
		return nil
	case err != nil:
		var de migrate.ErrDirty
		if errors.As(err, &de) {
			return dirtyError(uint(de.Version))
		}
		return err
	}
	logger.Info("meta/postgres: schema migrated", "version", SchemaVersion)
	return nil
}

// withMigrate runs do with a golang-migrate instance on the database
// cfg names and the embedded migrations.
func withMigrate(ctx context.Context, cfg *pgx.ConnConfig, do func(*migrate.Migrate) error) (err error) {
	src, err := iofs.New(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	db := stdlib.OpenDB(*cfg)
	defer func() {
		if cerr := db.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	if err := db.PingContext(ctx); err != nil {
		return err
	}
	driver, err := migratepgx.WithInstance(db, &migratepgx.Config{MigrationsTable: MigrationsTable})
	if err != nil {
		return err
	}
	m, err := migrate.NewWithInstance("iofs", src, "pgx5", driver)
	if err != nil {
		return err
	}
	defer m.Close()
	// Another process may be migrating: wait for it as long as a
	// migration may take, not golang-migrate's default 15 s.
	m.LockTimeout = migrateLockTimeout
	return do(m)
}

// dirtyError explains a schema that a migration left half-way. Berth's
// migrations are transactional, so a failed one changed nothing but the
// version row; golang-migrate still refuses to go on until told.
func dirtyError(version uint) error {
	return fmt.Errorf("schema version %d is marked dirty (a migration failed or was interrupted); "+
		"after checking the database, run `migrate -database URL force %d` (the version before it, if it did not apply) "+
		"and open again", version, version)
}
