package fs

import (
	"context"
	"fmt"
	iofs "io/fs"
	"os"
	"slices"
	"strings"

	"github.com/berthreg/berth/storage"
)

// List implements storage.Driver. os.ReadDir sorts by name, which is the
// byte-wise order of the full paths since they share the directory prefix.
func (d *Driver) List(ctx context.Context, prefix, after string, limit int) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkPrefix(prefix); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(d.full(prefix))
	if err != nil {
		if isNotFound(err) {
			return nil, notFound("list", prefix)
		}
		return nil, fmt.Errorf("fs: list %q: %w", prefix, err)
	}
	base := ""
	if prefix != "" {
		base = prefix + "/"
	}
	var out []string
	visible := false
	for _, e := range entries {
		if !listed(e) {
			continue
		}
		visible = true
		p := base + e.Name()
		if p <= after {
			continue
		}
		if limit > 0 && len(out) == limit {
			break
		}
		out = append(out, p)
	}
	if !visible && prefix != "" {
		// Only temporary files of writers in progress: no object lives
		// here yet.
		return nil, notFound("list", prefix)
	}
	return out, nil
}

// listed reports whether a directory entry is an object or a directory
// rather than a temporary file or something foreign.
func listed(e iofs.DirEntry) bool {
	return !strings.HasPrefix(e.Name(), tmpPrefix) && (e.IsDir() || e.Type().IsRegular())
}

// Walk implements storage.Driver. Within a directory, a subdirectory "b" is
// visited at the position of "b/" so that the overall order is the
// byte-wise order of full paths ("b.txt" < "b/c" < "b0").
func (d *Driver) Walk(ctx context.Context, prefix string, fn func(storage.FileInfo) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkPrefix(prefix); err != nil {
		return err
	}
	if prefix != "" {
		fi, err := os.Lstat(d.full(prefix))
		if err != nil && isNotFound(err) || err == nil && !fi.IsDir() {
			return nil
		}
		if err != nil {
			return fmt.Errorf("fs: walk %q: %w", prefix, err)
		}
	}
	return d.walk(ctx, prefix, fn)
}

// walk visits the directory dir (a checked path, "" for the root).
func (d *Driver) walk(ctx context.Context, dir string, fn func(storage.FileInfo) error) error {
	entries, err := os.ReadDir(d.full(dir))
	if err != nil {
		if isNotFound(err) {
			return nil // removed while we walked
		}
		return fmt.Errorf("fs: walk %q: %w", dir, err)
	}
	key := func(e iofs.DirEntry) string {
		if e.IsDir() {
			return e.Name() + "/"
		}
		return e.Name()
	}
	slices.SortFunc(entries, func(a, b iofs.DirEntry) int { return strings.Compare(key(a), key(b)) })
	for _, e := range entries {
		if !listed(e) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		p := e.Name()
		if dir != "" {
			p = dir + "/" + p
		}
		if e.IsDir() {
			if err := d.walk(ctx, p, fn); err != nil {
				return err
			}
			continue
		}
		fi, err := e.Info()
		if err != nil {
			if isNotFound(err) {
				continue
			}
			return fmt.Errorf("fs: walk %q: %w", p, err)
		}
		if err := fn(storage.FileInfo{Path: p, Size: fi.Size(), ModTime: fi.ModTime()}); err != nil {
			return err
		}
	}
	return nil
}
