package fs

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/berthreg/berth/storage"
)

// Reader implements storage.Driver. The returned value is the *os.File,
// positioned at offset.
func (d *Driver) Reader(ctx context.Context, p string, offset int64) (io.ReadCloser, error) {
	f, size, err := d.open(ctx, "read", p)
	if err != nil {
		return nil, err
	}
	if offset < 0 || offset > size {
		f.Close()
		return nil, fmt.Errorf("fs: read %q at %d of %d bytes: %w", p, offset, size, storage.ErrInvalidOffset)
	}
	if offset > 0 {
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			f.Close()
			return nil, fmt.Errorf("fs: read %q: %w", p, err)
		}
	}
	return f, nil
}

// Open implements storage.Opener. The handle is the *os.File.
func (d *Driver) Open(ctx context.Context, p string) (storage.ReadSeekCloser, error) {
	f, _, err := d.open(ctx, "open", p)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// open opens the regular file holding the object at p and returns its size.
func (d *Driver) open(ctx context.Context, op, p string) (*os.File, int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	if err := checkPath(p); err != nil {
		return nil, 0, err
	}
	f, err := os.Open(d.full(p))
	if err != nil {
		if isNotFound(err) {
			return nil, 0, notFound(op, p)
		}
		return nil, 0, fmt.Errorf("fs: %s %q: %w", op, p, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("fs: %s %q: %w", op, p, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, 0, notFound(op, p)
	}
	return f, fi.Size(), nil
}

// Stat implements storage.Driver.
func (d *Driver) Stat(ctx context.Context, p string) (storage.FileInfo, error) {
	if err := ctx.Err(); err != nil {
		return storage.FileInfo{}, err
	}
	if err := checkPath(p); err != nil {
		return storage.FileInfo{}, err
	}
	fi, err := os.Stat(d.full(p))
	switch {
	case err != nil && isNotFound(err):
		return storage.FileInfo{}, notFound("stat", p)
	case err != nil:
		return storage.FileInfo{}, fmt.Errorf("fs: stat %q: %w", p, err)
	case fi.IsDir():
		return storage.FileInfo{Path: p, ModTime: fi.ModTime(), IsDir: true}, nil
	case fi.Mode().IsRegular():
		return storage.FileInfo{Path: p, Size: fi.Size(), ModTime: fi.ModTime()}, nil
	default:
		return storage.FileInfo{}, notFound("stat", p)
	}
}
