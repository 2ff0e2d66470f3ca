package registry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/storage"
)

// claim tells garbage collection that d's bytes are about to be written to
// (or relied on at) their content address: a collection skips claimed
// digests. A digest whose bytes a collection is deleting right now
// (tombstoned) cannot be claimed: the request fails with 503 and a
// Retry-After, and the client's retry finds the deletion over.
func (h *Handler) claim(ctx context.Context, d digest.Digest) error {
	err := h.store.Update(ctx, func(tx meta.Tx) error {
		return tx.Collector().Claims().ClaimUnlessTombstoned(d, time.Now())
	})
	if errors.Is(err, meta.ErrTombstoned) {
		return fmt.Errorf("%s is being garbage collected: %w", d, storage.ErrUnavailable)
	}
	return err
}

// claimUntilLinked claims d for a blob upload and returns the function to
// defer: it releases the claim unless *linked is set (linkBlob's
// transaction released it with the link).
func (h *Handler) claimUntilLinked(ctx context.Context, d digest.Digest) (func(linked *bool), error) {
	if err := h.claim(ctx, d); err != nil {
		return nil, err
	}
	return func(linked *bool) {
		if !*linked {
			h.release(ctx, d)
		}
	}, nil
}

// release drops a claim after a failure (the metadata transaction that
// records the bytes releases it on success); a claim left behind by a
// crash only delays collection until it expires.
func (h *Handler) release(ctx context.Context, d digest.Digest) {
	_ = h.store.Update(context.WithoutCancel(ctx), func(tx meta.Tx) error { return tx.Collector().Claims().Release(d) })
}
