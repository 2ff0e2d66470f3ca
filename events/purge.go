package events

import (
	"context"
	"time"

	"github.com/berthreg/berth/meta"
)

// Purge deletes the events older than before that every consumer has
// handled (none past the lowest cursor), in batches, and returns how many
// it deleted: the audit log's retention.
func Purge(ctx context.Context, s meta.Store, before time.Time) (int, error) {
	total := 0
	for {
		n := 0
		err := s.Update(ctx, func(tx meta.Tx) error {
			upTo, err := tx.Events().Last()
			if err != nil {
				return err
			}
			cursors, err := tx.Cursors().List("", 0)
			if err != nil {
				return err
			}
			for _, c := range cursors {
				upTo = min(upTo, c.Seq)
			}
			n, err = tx.Events().Purge(before, upTo, 1000)
			return err
		})
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}
