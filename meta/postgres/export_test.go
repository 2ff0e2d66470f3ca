package postgres

import (
	"context"
	"time"

	"github.com/golang-migrate/migrate/v4"
	"github.com/jackc/pgx/v5"
)

// WithBeforePoolAcquire makes the store call f just before each wait on
// its pool, so that a test can order a race around that wait.
func WithBeforePoolAcquire(f func()) Option {
	return func(o *options) { o.beforePoolAcquire = f }
}

// WithClock makes the store read the time from now (the read cache's
// entries' age).
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// WithManualDropPolls leaves the read cache's polls of the drop log to
// PollDrops.
func WithManualDropPolls() Option {
	return func(o *options) { o.manualDropPolls = true }
}

// PollDrops reads the drop log once, as the store does once an interval.
func PollDrops(s *Store) error { return s.pollDrops(context.Background()) }

// MigrateTo brings the schema of the database dsn names to version v
// (and no further), as a build of that version would have left it: for
// tests of a later migration's backfill.
func MigrateTo(ctx context.Context, dsn string, v uint) error {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return err
	}
	return withMigrate(ctx, cfg, func(m *migrate.Migrate) error { return m.Migrate(v) })
}
