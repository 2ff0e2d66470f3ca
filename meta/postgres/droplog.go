package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/berthreg/berth/meta"
)

// Bounds of the drop log (table cache_drops, see readCache).
const (
	// dropLogBatch is how many rows a poll reads per statement.
	dropLogBatch = 1000
	// dropLogKeep is how long a row stays in the log. A store that has
	// not polled for half of it forgets its whole cache at its next poll:
	// rows it had not read may be gone.
	dropLogKeep = time.Hour
	// dropLogPurgeEvery is how often a store deletes rows older than
	// dropLogKeep.
	dropLogPurgeEvery = time.Minute
)

// dropLog is a store's position in the drop log.
type dropLog struct {
	// cursor is the highest seq up to which every row has been read: a
	// row above it may still commit (see the event log's horizon).
	cursor int64
	purged time.Time
}

// startDropPolls polls the drop log now and then once an interval until
// the store closes.
func (s *Store) startDropPolls() {
	ctx, cancel := context.WithCancel(context.Background())
	s.pollStop, s.pollDone = cancel, make(chan struct{})
	go func() {
		defer close(s.pollDone)
		t := time.NewTicker(s.cache.interval)
		defer t.Stop()
		failing := false // logged once per run of failures
		for {
			err := s.pollDrops(ctx)
			switch {
			case ctx.Err() != nil:
			case err != nil && !failing:
				failing = true
				s.opts.logger.Warn("meta/postgres: cannot read the read cache's drop log: its entries stop being served until it can", "error", err)
			case err == nil && failing:
				failing = false
				s.opts.logger.Info("meta/postgres: reading the read cache's drop log again")
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// stopDropPolls ends the polls and waits for the one under way.
func (s *Store) stopDropPolls() {
	if s.pollStop != nil {
		s.pollStop()
		<-s.pollDone
	}
}

// pollDrops reads the drop log from the cursor and drops the
// repositories it names, then lets the cache answer for another
// readCacheLapses intervals from the poll's start. Every row read is
// applied (a row that is visible has committed); the cursor moves only
// past the rows whose horizon every transaction has passed, so a row
// that commits later, with a lower seq, is read by a later poll.
func (s *Store) pollDrops(ctx context.Context) error {
	s.pollMu.Lock()
	defer s.pollMu.Unlock()
	start := s.opts.now()
	repos := map[string]bool{}
	cursor := s.drops.cursor
	err := s.View(ctx, func(mt meta.Tx) error {
		t := mt.(*tx)
		from, settled := cursor, true
		for {
			n := 0
			_, err := t.run("poll drop log", `
				SELECT seq, horizon <= pg_snapshot_xmin(pg_current_snapshot()), repo FROM cache_drops
				WHERE seq > $1 ORDER BY seq LIMIT $2`, []any{from, dropLogBatch}, func(rows pgx.Rows) error {
				var seq int64
				var done bool
				var repo string
				if err := rows.Scan(&seq, &done, &repo); err != nil {
					return err
				}
				n++
				repos[repo] = true
				from = seq
				if settled = settled && done; settled {
					cursor = seq
				}
				return nil
			})
			if err != nil || n < dropLogBatch {
				return err
			}
		}
	})
	if err != nil {
		return err
	}
	s.drops.cursor = cursor
	if previous := s.cache.lastPoll(); previous.IsZero() || start.Sub(previous) >= dropLogKeep/2 {
		s.cache.dropAll()
	} else if len(repos) > 0 {
		s.cache.drop(repos)
	}
	s.cache.polledAt(start)
	if start.Sub(s.drops.purged) >= dropLogPurgeEvery {
		s.drops.purged = start
		return s.purgeDrops(ctx)
	}
	return nil
}

// purgeDrops deletes the oldest rows of the drop log older than
// dropLogKeep, up to dropLogBatch of them, in a statement of its own
// (several stores purging at once wait for each other's row locks, not
// for a serialization failure).
func (s *Store) purgeDrops(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.cache.interval)
	defer cancel()
	_, err := s.pool.Exec(ctx, `
		DELETE FROM cache_drops WHERE seq IN (SELECT seq FROM cache_drops ORDER BY seq LIMIT $1)
		AND at < now() - make_interval(secs => $2)`, dropLogBatch, dropLogKeep.Seconds())
	if err != nil {
		return wrap(ctx, "purge drop log", err)
	}
	return nil
}
