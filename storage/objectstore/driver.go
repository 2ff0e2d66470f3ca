package objectstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/berthreg/berth/storage"
)

var errBadPath = storage.ErrInvalidPath

// maxDeleteBatch is the most keys one Bucket.Delete is given.
const maxDeleteBatch = 1000

// Driver is a storage.Driver (and storage.Sessioner and storage.Redirector)
// over a Bucket. Create it with New; it is safe for concurrent use.
type Driver struct {
	b    Bucket
	name string
	root string // key prefix, "" or ending in "/"
	o    Options
	// parts pools *[]byte buffers of capacity PartSize for writers.
	parts sync.Pool
}

var (
	_ storage.Driver     = (*Driver)(nil)
	_ storage.Sessioner  = (*Driver)(nil)
	_ storage.Redirector = (*Driver)(nil)
)

// New returns a Driver storing objects in b. It makes no request.
func New(b Bucket, o Options) (*Driver, error) {
	o, err := o.validate()
	if err != nil {
		return nil, err
	}
	d := &Driver{b: b, name: o.Name, root: o.RootDirectory, o: o}
	d.parts.New = func() any {
		b := make([]byte, 0, o.PartSize)
		return &b
	}
	return d, nil
}

// Bucket returns the bucket the driver stores objects in.
func (d *Driver) Bucket() Bucket { return d.b }

// Root returns the driver's RootDirectory without its trailing slash ("" for
// the bucket's root).
func (d *Driver) Root() string { return strings.TrimSuffix(d.root, "/") }

// Key returns the object key that holds the driver path p.
func (d *Driver) Key(p string) string { return d.root + p }

// dirKey is the key prefix of everything below the directory p ("" is the
// root).
func (d *Driver) dirKey(p string) string {
	if p == "" {
		return d.root
	}
	return d.root + p + "/"
}

// fail annotates a bucket error with the driver name, operation and path,
// adding storage.ErrUnavailable when the bucket could not be reached.
func (d *Driver) fail(op, p string, err error) error {
	if unreachable(err) && !errors.Is(err, storage.ErrUnavailable) {
		return fmt.Errorf("%s: %s %q: %w: %w", d.name, op, p, storage.ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %s %q: %w", d.name, op, p, err)
}

// unreachable reports a network failure: a refused or reset connection, a
// failed dial or lookup, a timeout.
func unreachable(err error) bool {
	var op *net.OpError
	var ne net.Error
	return errors.As(err, &op) || (errors.As(err, &ne) && ne.Timeout()) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF)
}

// check validates an object path.
func (d *Driver) check(p string) error {
	if checkPath(p) != nil {
		return fmt.Errorf("%s: %q: %w", d.name, p, storage.ErrInvalidPath)
	}
	return nil
}

// checkPrefix is check for List and Walk, where "" names the root.
func (d *Driver) checkPrefix(p string) error {
	if p == "" {
		return nil
	}
	return d.check(p)
}

// head describes the object at p.
func (d *Driver) head(ctx context.Context, op, p string) (Object, error) {
	o, err := d.b.Head(ctx, d.Key(p))
	if err != nil {
		return o, d.fail(op, p, err)
	}
	return o, nil
}

// Reader implements storage.Driver.
func (d *Driver) Reader(ctx context.Context, p string, offset int64) (io.ReadCloser, error) {
	if err := d.check(p); err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, fmt.Errorf("%s: read %q at %d: %w", d.name, p, offset, storage.ErrInvalidOffset)
	}
	rc, err := d.b.Get(ctx, d.Key(p), offset)
	if err == nil {
		return rc, nil
	}
	if !errors.Is(err, ErrInvalidRange) {
		return nil, d.fail("read", p, err)
	}
	// The offset is at or past the end: tell the two apart.
	o, herr := d.head(ctx, "read", p)
	if herr != nil {
		return nil, herr
	}
	if offset != o.Size {
		return nil, fmt.Errorf("%s: read %q at %d of %d bytes: %w", d.name, p, offset, o.Size, storage.ErrInvalidOffset)
	}
	return io.NopCloser(bytes.NewReader(nil)), nil
}

// Stat implements storage.Driver: a Head, then a one-key listing to
// recognise a directory prefix.
func (d *Driver) Stat(ctx context.Context, p string) (storage.FileInfo, error) {
	if err := d.check(p); err != nil {
		return storage.FileInfo{}, err
	}
	o, err := d.head(ctx, "stat", p)
	if err == nil {
		return storage.FileInfo{Path: p, Size: o.Size, ModTime: o.ModTime}, nil
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return storage.FileInfo{}, err
	}
	isDir, derr := d.dirExists(ctx, "stat", p)
	if derr != nil {
		return storage.FileInfo{}, derr
	}
	if !isDir {
		return storage.FileInfo{}, err
	}
	return storage.FileInfo{Path: p, IsDir: true}, nil
}

// dirExists reports whether any object lies below the directory p.
func (d *Driver) dirExists(ctx context.Context, op, p string) (bool, error) {
	page, err := d.b.List(ctx, ListRequest{Prefix: d.dirKey(p), MaxKeys: 1})
	if err != nil {
		return false, d.fail(op, p, err)
	}
	return len(page.Objects) > 0, nil
}

// List implements storage.Driver with a delimited listing.
//
// Buckets order a directory by its key with the trailing slash ("l/b.txt"
// before "l/b/"), the contract orders it by its path ("l/b" before
// "l/b.txt"), so List reads on past the limit-th child until no directory
// still to come can sort before it; listing starts at "after", which no
// child sorting after it can precede.
func (d *Driver) List(ctx context.Context, prefix, after string, limit int) ([]string, error) {
	if err := d.checkPrefix(prefix); err != nil {
		return nil, err
	}
	base := d.dirKey(prefix)
	req := ListRequest{Prefix: base, Delimited: true, MaxKeys: d.o.ListPageSize}
	if after != "" && d.Key(after) > base {
		req.StartAfter = d.Key(after)
	}
	var names []string
	seen := false // whether any key lies below prefix at all
	for {
		page, err := d.b.List(ctx, req)
		if err != nil {
			return nil, d.fail("list", prefix, err)
		}
		last := ""
		for _, o := range page.Objects {
			last = max(last, o.Key)
			seen = true
			if n := strings.TrimPrefix(o.Key, d.root); n > after {
				names = append(names, n)
			}
		}
		for _, k := range page.Prefixes {
			last = max(last, k)
			seen = true
			if n := strings.TrimSuffix(strings.TrimPrefix(k, d.root), "/"); n > after {
				names = append(names, n)
			}
		}
		if page.Next == "" {
			break
		}
		if limit > 0 && len(names) >= limit {
			slices.Sort(names)
			if !dirMayPrecede(d.root+names[limit-1], base, last) {
				break
			}
		}
		req.Token = page.Next
	}
	slices.Sort(names)
	names = slices.Compact(names)
	if limit > 0 && len(names) > limit {
		names = names[:limit]
	}
	if len(names) == 0 && prefix != "" && !seen {
		ok, err := d.dirExists(ctx, "list", prefix)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("%s: list %q: %w", d.name, prefix, storage.ErrNotFound)
		}
	}
	return names, nil
}

// dirMayPrecede reports whether a directory listed after the key last could
// sort before the key l in path order. Such a directory n+"/" must have n a
// proper prefix of l (longer than base) followed in l by a byte below '/',
// and n+"/" > last.
func dirMayPrecede(l, base, last string) bool {
	for i := len(base) + 1; i < len(l); i++ {
		if l[i] < '/' && l[:i]+"/" > last {
			return true
		}
	}
	return false
}

// Walk implements storage.Driver with an undelimited listing, whose key
// order is the lexical path order.
func (d *Driver) Walk(ctx context.Context, prefix string, fn func(storage.FileInfo) error) error {
	if err := d.checkPrefix(prefix); err != nil {
		return err
	}
	return d.walkKeys(ctx, "walk", prefix, func(o Object) error {
		return fn(storage.FileInfo{Path: strings.TrimPrefix(o.Key, d.root), Size: o.Size, ModTime: o.ModTime})
	})
}

// walkKeys calls fn for every object below the directory p.
func (d *Driver) walkKeys(ctx context.Context, op, p string, fn func(Object) error) error {
	req := ListRequest{Prefix: d.dirKey(p), MaxKeys: d.o.ListPageSize}
	for {
		page, err := d.b.List(ctx, req)
		if err != nil {
			return d.fail(op, p, err)
		}
		for _, o := range page.Objects {
			if err := fn(o); err != nil {
				return err
			}
		}
		if page.Next == "" {
			return nil
		}
		req.Token = page.Next
	}
}

// Move implements storage.Driver: a server-side copy (multipart above
// MaxCopySize) then a delete of the source. Object stores have no rename,
// so the move is not atomic as a whole: dst is replaced atomically, and src
// disappears just after; a crash in between leaves both, never neither.
func (d *Driver) Move(ctx context.Context, src, dst string) error {
	if err := d.check(src); err != nil {
		return err
	}
	if err := d.check(dst); err != nil {
		return err
	}
	o, err := d.head(ctx, "move", src)
	if err != nil {
		return err
	}
	if src == dst {
		return nil
	}
	if err := d.copy(ctx, src, dst, o); err != nil {
		return err
	}
	if err := d.b.Delete(ctx, []string{d.Key(src)}); err != nil {
		return d.fail("move: delete source", src, err)
	}
	return nil
}

// copy copies the object src (described by o) to dst server-side.
func (d *Driver) copy(ctx context.Context, src, dst string, o Object) error {
	if o.Size <= d.o.MaxCopySize {
		if err := d.b.Copy(ctx, d.Key(src), d.Key(dst), o.ETag); err != nil {
			return d.fail("copy", src, err)
		}
		return nil
	}
	u := &upload{d: d, path: dst}
	if err := u.copyFrom(ctx, src, o.Size, o.ETag); err != nil {
		return errors.Join(err, u.abort(ctx))
	}
	if err := u.complete(ctx); err != nil {
		return errors.Join(err, u.abort(ctx))
	}
	return nil
}

// Delete implements storage.Driver: the object at p if there is one,
// otherwise every object below the directory p, in batches.
func (d *Driver) Delete(ctx context.Context, p string) error {
	if err := d.check(p); err != nil {
		return err
	}
	_, err := d.head(ctx, "delete", p)
	if err == nil {
		if err := d.b.Delete(ctx, []string{d.Key(p)}); err != nil {
			return d.fail("delete", p, err)
		}
		return nil
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	deleted := 0
	var batch []string
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := d.b.Delete(ctx, batch); err != nil {
			return d.fail("delete", p, err)
		}
		deleted += len(batch)
		batch = batch[:0]
		return nil
	}
	// Deleting while listing is safe: a listing continues after the last
	// key it returned, whether or not that key still exists.
	werr := d.walkKeys(ctx, "delete", p, func(o Object) error {
		batch = append(batch, o.Key)
		if len(batch) == maxDeleteBatch {
			return flush()
		}
		return nil
	})
	if werr != nil {
		return werr
	}
	if err := flush(); err != nil {
		return err
	}
	if deleted == 0 {
		return err
	}
	return nil
}
