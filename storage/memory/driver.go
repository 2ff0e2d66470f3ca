package memory

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/berthreg/berth/storage"
)

// Driver is an in-memory storage.Driver. The zero value is not usable; call
// New.
type Driver struct {
	mu      sync.RWMutex
	objects map[string]*object
	// dirs counts the objects below every directory prefix (the root is
	// not counted), so directory checks cost one map lookup.
	dirs map[string]int
	// keys holds the object paths in byte-wise order when sorted is true;
	// List and Walk rebuild it lazily after changes.
	keys   []string
	sorted bool
	now    func() time.Time
}

var (
	_ storage.Driver = (*Driver)(nil)
	_ storage.Opener = (*Driver)(nil)
)

// New returns an empty in-memory driver.
func New() *Driver {
	return &Driver{
		objects: make(map[string]*object),
		dirs:    make(map[string]int),
		sorted:  true,
		now:     time.Now,
	}
}

// Reader implements storage.Driver.
func (d *Driver) Reader(ctx context.Context, p string, offset int64) (io.ReadCloser, error) {
	o, err := d.lookup(ctx, p, offset)
	if err != nil {
		return nil, err
	}
	return handle{io.NewSectionReader(o, offset, o.size-offset)}, nil
}

// Open implements storage.Opener.
func (d *Driver) Open(ctx context.Context, p string) (storage.ReadSeekCloser, error) {
	o, err := d.lookup(ctx, p, 0)
	if err != nil {
		return nil, err
	}
	return handle{io.NewSectionReader(o, 0, o.size)}, nil
}

// lookup returns the object at p, checking that offset lies within it.
func (d *Driver) lookup(ctx context.Context, p string, offset int64) (*object, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkPath(p); err != nil {
		return nil, err
	}
	d.mu.RLock()
	o := d.objects[p]
	d.mu.RUnlock()
	if o == nil {
		return nil, fmt.Errorf("memory: %q: %w", p, storage.ErrNotFound)
	}
	if offset < 0 || offset > o.size {
		return nil, fmt.Errorf("memory: %q: offset %d of %d bytes: %w", p, offset, o.size, storage.ErrInvalidOffset)
	}
	return o, nil
}

// Stat implements storage.Driver.
func (d *Driver) Stat(ctx context.Context, p string) (storage.FileInfo, error) {
	if err := ctx.Err(); err != nil {
		return storage.FileInfo{}, err
	}
	if err := checkPath(p); err != nil {
		return storage.FileInfo{}, err
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	if o := d.objects[p]; o != nil {
		return storage.FileInfo{Path: p, Size: o.size, ModTime: o.modTime}, nil
	}
	if d.dirs[p] > 0 {
		return storage.FileInfo{Path: p, IsDir: true}, nil
	}
	return storage.FileInfo{}, fmt.Errorf("memory: %q: %w", p, storage.ErrNotFound)
}

// List implements storage.Driver.
func (d *Driver) List(ctx context.Context, prefix, after string, limit int) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkPrefix(prefix); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if prefix != "" && d.dirs[prefix] == 0 {
		return nil, fmt.Errorf("memory: list %q: %w", prefix, storage.ErrNotFound)
	}
	base := childPrefix(prefix)
	var children []string
	for _, k := range d.below(base) {
		child := k
		if i := strings.IndexByte(k[len(base):], '/'); i >= 0 {
			child = k[:len(base)+i]
		}
		if n := len(children); n > 0 && children[n-1] == child {
			continue // keys below one directory are contiguous
		}
		children = append(children, child)
	}
	// A directory "b" sorts after its sibling "b.txt" as a key prefix
	// ("b/" > "b.") but before it as a name.
	slices.Sort(children)
	i, _ := slices.BinarySearch(children, after)
	for i < len(children) && children[i] <= after {
		i++
	}
	children = children[i:]
	if limit > 0 && len(children) > limit {
		children = children[:limit]
	}
	return slices.Clip(children), nil
}

// Walk implements storage.Driver. fn runs without any lock held, so it may
// call the driver (a garbage-collection sweep deletes as it walks).
func (d *Driver) Walk(ctx context.Context, prefix string, fn func(storage.FileInfo) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkPrefix(prefix); err != nil {
		return err
	}
	d.mu.Lock()
	keys := d.below(childPrefix(prefix))
	infos := make([]storage.FileInfo, len(keys))
	for i, k := range keys {
		o := d.objects[k]
		infos[i] = storage.FileInfo{Path: k, Size: o.size, ModTime: o.modTime}
	}
	d.mu.Unlock()
	for _, fi := range infos {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(fi); err != nil {
			return err
		}
	}
	return nil
}

// Move implements storage.Driver.
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
	d.mu.Lock()
	defer d.mu.Unlock()
	o := d.objects[src]
	if o == nil {
		return fmt.Errorf("memory: move %q: %w", src, storage.ErrNotFound)
	}
	if src == dst {
		return nil
	}
	if err := d.conflict(dst); err != nil {
		return err
	}
	d.remove(src)
	d.put(dst, o)
	return nil
}

// Delete implements storage.Driver.
func (d *Driver) Delete(ctx context.Context, p string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkPath(p); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.objects[p] != nil {
		d.remove(p)
		return nil
	}
	if d.dirs[p] == 0 {
		return fmt.Errorf("memory: delete %q: %w", p, storage.ErrNotFound)
	}
	for _, k := range slices.Clone(d.below(p + "/")) {
		d.remove(k)
	}
	return nil
}

// below returns the sorted object paths that start with base. d.mu must be
// held for writing, since the sorted index may be rebuilt.
func (d *Driver) below(base string) []string {
	if !d.sorted {
		d.keys = d.keys[:0]
		for k := range d.objects {
			d.keys = append(d.keys, k)
		}
		slices.Sort(d.keys)
		d.sorted = true
	}
	if base == "" {
		return d.keys
	}
	lo := sort.SearchStrings(d.keys, base)
	hi := lo + sort.Search(len(d.keys)-lo, func(i int) bool { return !strings.HasPrefix(d.keys[lo+i], base) })
	return d.keys[lo:hi]
}

// conflict reports whether an object cannot be stored at p because p is a
// directory or one of its parents is an object. d.mu must be held.
func (d *Driver) conflict(p string) error {
	if d.dirs[p] > 0 {
		return fmt.Errorf("memory: %q is a directory", p)
	}
	var err error
	parents(p, func(dir string) {
		if err == nil && d.objects[dir] != nil {
			err = fmt.Errorf("memory: %q: parent %q is an object", p, dir)
		}
	})
	return err
}

// put stores o at p. d.mu must be held for writing.
func (d *Driver) put(p string, o *object) {
	if d.objects[p] == nil {
		parents(p, func(dir string) { d.dirs[dir]++ })
		if d.sorted && (len(d.keys) == 0 || d.keys[len(d.keys)-1] < p) {
			d.keys = append(d.keys, p)
		} else {
			d.sorted = false
		}
	}
	d.objects[p] = o
}

// remove deletes the object at p, if any. d.mu must be held for writing.
func (d *Driver) remove(p string) {
	if d.objects[p] == nil {
		return
	}
	delete(d.objects, p)
	parents(p, func(dir string) {
		if d.dirs[dir]--; d.dirs[dir] == 0 {
			delete(d.dirs, dir)
		}
	})
	d.sorted = false
}
