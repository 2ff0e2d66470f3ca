package fs

import (
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/berthreg/berth/storage"
)

// tmpPrefix starts the name of every temporary file; List and Walk skip such
// names and no object path may contain one.
const tmpPrefix = ".tmp-"

// checkPath rejects paths that are empty, absolute, not clean, contain "."
// or ".." elements, are not local file names on this OS, or have an element
// that could be mistaken for a temporary file.
func checkPath(p string) error {
	if p == "" || p[0] == '/' || path.Clean(p) != p || p == "." || p == ".." ||
		strings.HasPrefix(p, "../") || strings.IndexByte(p, 0) >= 0 ||
		(os.PathSeparator != '/' && strings.ContainsRune(p, os.PathSeparator)) ||
		!filepath.IsLocal(filepath.FromSlash(p)) ||
		strings.HasPrefix(p, tmpPrefix) || strings.Contains(p, "/"+tmpPrefix) {
		return fmt.Errorf("fs: %q: %w", p, storage.ErrInvalidPath)
	}
	return nil
}

// checkPrefix is checkPath for List and Walk, where "" names the root.
func checkPrefix(p string) error {
	if p == "" {
		return nil
	}
	return checkPath(p)
}

// full maps a checked path (or "" for the root) to its file name.
func (d *Driver) full(p string) string {
	if p == "" {
		return d.root
	}
	return filepath.Join(d.root, filepath.FromSlash(p))
}

// isNotFound reports whether err means nothing exists at a path, including
// a path that runs through a regular file.
func isNotFound(err error) bool {
	return errors.Is(err, iofs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// notFound wraps storage.ErrNotFound for p.
func notFound(op, p string) error {
	return fmt.Errorf("fs: %s %q: %w", op, p, storage.ErrNotFound)
}
