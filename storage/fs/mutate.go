package fs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// Move implements storage.Driver with os.Rename, creating the destination's
// directories and fsyncing the destination directory. The source's
// directories are removed when the move leaves them empty.
func (d *Driver) Move(ctx context.Context, src, dst string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkPath(src); err != nil {
		return err
	}
	if err := checkPath(dst); err != nil {
		return err
	}
	from, to := d.full(src), d.full(dst)
	fi, err := os.Lstat(from)
	if err != nil && isNotFound(err) || err == nil && !fi.Mode().IsRegular() {
		return notFound("move", src)
	}
	if err != nil {
		return fmt.Errorf("fs: move %q: %w", src, err)
	}
	if src == dst {
		return nil
	}
	dir := filepath.Dir(to)
	err = d.inDir(dir, func() error {
		err := os.Rename(from, to)
		if err != nil && isNotFound(err) {
			if _, serr := os.Lstat(from); isNotFound(serr) {
				return notFound("move", src) // lost a race with Delete or Move
			}
		}
		return err
	})
	if err == nil {
		err = d.syncDir(dir)
	}
	if err != nil {
		d.prune(dir)
		return fmt.Errorf("fs: move %q to %q: %w", src, dst, err)
	}
	d.prune(filepath.Dir(from))
	return nil
}

// Delete implements storage.Driver. Deleting the last object of a directory
// removes the directory and every parent it leaves empty.
func (d *Driver) Delete(ctx context.Context, p string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkPath(p); err != nil {
		return err
	}
	name := d.full(p)
	fi, err := os.Lstat(name)
	switch {
	case err != nil && isNotFound(err):
		return notFound("delete", p)
	case err != nil:
		return fmt.Errorf("fs: delete %q: %w", p, err)
	case fi.IsDir():
		err = os.RemoveAll(name)
	default:
		err = os.Remove(name)
	}
	if err != nil {
		if isNotFound(err) {
			return notFound("delete", p)
		}
		return fmt.Errorf("fs: delete %q: %w", p, err)
	}
	d.prune(filepath.Dir(name))
	return nil
}
