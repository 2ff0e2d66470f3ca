package scan

import (
	"context"
	"errors"
	"time"
)

// Wait polls s.Report until the report is ready, waiting between polls
// as long as the scanner asks (*NotReady), until ctx ends.
func Wait(ctx context.Context, s Scanner, id, mimeType, sbomType string) ([]byte, error) {
	for {
		b, err := s.Report(ctx, id, mimeType, sbomType)
		var nr *NotReady
		if !errors.As(err, &nr) {
			return b, err
		}
		t := time.NewTimer(nr.RetryAfter)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}
