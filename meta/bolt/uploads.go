package bolt

import (
	"errors"
	"fmt"

	"github.com/berthreg/berth/meta"
)

// uploads is the meta.Uploads view of a tx.
type uploads struct{ t *tx }

// Get returns the session with the given id, or meta.ErrNotFound.
func (u uploads) Get(id string) (meta.Upload, error) {
	if err := u.t.live(); err != nil {
		return meta.Upload{}, err
	}
	rec, found, err := getRecord(u.t.top(bucketUploads), []byte(id), func(raw []byte) (meta.Upload, error) {
		return decodeUpload(id, raw)
	})
	switch {
	case err != nil:
		return meta.Upload{}, fmt.Errorf("meta/bolt: upload %q: %w", id, err)
	case !found:
		return meta.Upload{}, fmt.Errorf("meta/bolt: upload %q: %w", id, meta.ErrNotFound)
	}
	return rec, nil
}

// Put creates or replaces the session rec.ID.
func (u uploads) Put(rec meta.Upload) error {
	if err := u.t.writable("put upload"); err != nil {
		return err
	}
	if rec.ID == "" {
		return errors.New("meta/bolt: put upload: empty id")
	}
	raw, err := encodeUpload(rec)
	if err == nil {
		err = u.t.top(bucketUploads).Put([]byte(rec.ID), raw)
	}
	if err != nil {
		return fmt.Errorf("meta/bolt: put upload %q: %w", rec.ID, err)
	}
	return nil
}

// Delete removes the session, or returns meta.ErrNotFound.
func (u uploads) Delete(id string) error {
	if err := u.t.writable("delete upload"); err != nil {
		return err
	}
	ub := u.t.top(bucketUploads)
	if ub.Get([]byte(id)) == nil {
		return fmt.Errorf("meta/bolt: upload %q: %w", id, meta.ErrNotFound)
	}
	return del(ub, []byte(id))
}

// List returns up to limit sessions with ids after "after", in id order.
func (u uploads) List(after string, limit int) ([]meta.Upload, error) {
	if err := u.t.live(); err != nil {
		return nil, err
	}
	var out []meta.Upload
	err := page(u.t.top(bucketUploads), []byte(after), limit, func(k, v []byte) error {
		rec, err := decodeUpload(string(k), v)
		if err != nil {
			return fmt.Errorf("meta/bolt: upload %q: %w", k, err)
		}
		out = append(out, rec)
		return nil
	})
	return out, err
}
