package fs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/berthreg/berth/storage"
)

// Driver is a storage.Driver over a directory on local disk. It is safe for
// concurrent use, including by several Drivers (or processes) sharing a root.
type Driver struct {
	root string
	sync bool
}

var (
	_ storage.Driver = (*Driver)(nil)
	_ storage.Opener = (*Driver)(nil)
)

// Option configures a Driver.
type Option func(*Driver)

// WithoutSync skips every fsync. Commit and Move are still atomic, but a
// machine crash may lose or truncate recently committed objects. Meant for
// tests and benchmarks.
func WithoutSync() Option {
	return func(d *Driver) { d.sync = false }
}

// New returns a driver storing objects below root, creating the directory if
// needed. The directories and files the driver creates (the root too, when
// New creates it) are readable by the process's user only: 0700 and 0600.
// The mode of a root that already exists, and of what an older version
// created in it, is left as it is.
func New(root string, opts ...Option) (*Driver, error) {
	if root == "" {
		return nil, errors.New("fs: empty root directory")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("fs: root %q: %w", root, err)
	}
	if err := os.MkdirAll(abs, dirMode); err != nil {
		return nil, fmt.Errorf("fs: root: %w", err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("fs: root: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("fs: root %q is not a directory", abs)
	}
	d := &Driver{root: abs, sync: true}
	for _, opt := range opts {
		opt(d)
	}
	return d, nil
}

// Root returns the absolute directory the driver stores objects in.
func (d *Driver) Root() string { return d.root }
