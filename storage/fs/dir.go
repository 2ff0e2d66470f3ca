package fs

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
)

// The modes of what the driver creates: its owner's only, like the
// metadata store and keys beside it, since blobs are every tenant's
// layers. The process umask can only narrow them.
const (
	dirMode  = 0o700
	fileMode = 0o600
)

// maxAttempts bounds retries of operations whose directory another
// goroutine pruned between our mkdir and our create or rename.
const maxAttempts = 10

// inDir creates dir (and its parents) and runs op in it, retrying when a
// concurrent Delete pruned the freshly emptied directory in between.
func (d *Driver) inDir(dir string, op func() error) error {
	for attempt := 1; ; attempt++ {
		err := d.mkdirAll(dir)
		if err == nil {
			err = op()
		}
		if err == nil || !errors.Is(err, iofs.ErrNotExist) || attempt == maxAttempts {
			return err
		}
	}
}

// mkdirAll creates dir and any missing parents below the root, syncing the
// parent of every directory it creates so the new entries are durable.
func (d *Driver) mkdirAll(dir string) error {
	fi, err := os.Stat(dir)
	if err == nil {
		if !fi.IsDir() {
			return &os.PathError{Op: "mkdir", Path: dir, Err: syscall.ENOTDIR}
		}
		return nil
	}
	if !errors.Is(err, iofs.ErrNotExist) {
		return err
	}
	if !d.below(dir) {
		return err // the root itself is gone
	}
	parent := filepath.Dir(dir)
	if err := d.mkdirAll(parent); err != nil {
		return err
	}
	if err := os.Mkdir(dir, dirMode); err != nil {
		if errors.Is(err, iofs.ErrExist) {
			return nil // created concurrently
		}
		return err
	}
	return d.syncDir(parent)
}

// prune removes dir and then its parents while they are empty, stopping
// below the root.
func (d *Driver) prune(dir string) {
	for d.below(dir) && rmdir(dir) == nil {
		dir = filepath.Dir(dir)
	}
}

// below reports whether name lies strictly inside the root.
func (d *Driver) below(name string) bool {
	return len(name) > len(d.root) && strings.HasPrefix(name, d.root) && os.IsPathSeparator(name[len(d.root)])
}

// syncDir fsyncs a directory so the entries created or renamed in it are
// durable. It does nothing when syncing is off or the platform cannot sync
// directories.
func (d *Driver) syncDir(dir string) error {
	if !d.sync || runtime.GOOS == "windows" {
		return nil
	}
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, errors.ErrUnsupported) {
		return nil // file systems that cannot sync directories
	}
	return err
}

// createTemp creates a new temporary file in dir.
func createTemp(dir string) (*os.File, error) {
	var b [8]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		name := filepath.Join(dir, tmpPrefix+hex.EncodeToString(b[:]))
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
		if errors.Is(err, iofs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("create temporary file: %w", err)
		}
		return f, nil
	}
}
