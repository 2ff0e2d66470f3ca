package objectstore

import (
	"fmt"
	"path"
	"strings"
	"time"
)

// Options configure a Driver. Adapters fill the bucket's limits; hosts set
// the rest through the adapter's own configuration.
type Options struct {
	// Name prefixes every error message ("s3", "oss").
	Name string
	// RootDirectory is a key prefix under which every object is stored;
	// leading and trailing slashes are ignored, "" is the bucket's root.
	RootDirectory string
	// PartSize is the size of the parts writers upload, and so the memory
	// one writer buffers. It must lie in [MinPartSize, MaxPartSize].
	PartSize int64
	// Concurrency is how many parts one writer uploads at once, in
	// goroutines, while it goes on buffering; each holds a PartSize buffer.
	// 0 or 1 uploads every part in line.
	Concurrency int
	// MinPartSize is the bucket's smallest part but the last (5 MiB on S3).
	MinPartSize int64
	// MaxPartSize is the bucket's largest part and the largest range one
	// CopyPart copies (5 GiB on S3).
	MaxPartSize int64
	// MaxParts is the bucket's limit on the parts of one upload (10000).
	MaxParts int
	// MaxCopySize is the largest object one Copy copies; Move copies larger
	// ones with a multipart upload of CopyParts.
	MaxCopySize int64
	// ListPageSize is the MaxKeys of each List request; 0 leaves the
	// bucket's default.
	ListPageSize int
	// RedirectExpiry, when positive and the bucket is a Presigner, makes
	// RedirectURL hand out presigned GET URLs valid that long; 0 serves
	// every read through the registry.
	RedirectExpiry time.Duration
}

// validate checks o and returns it with RootDirectory normalised to "" or a
// prefix ending in "/".
func (o Options) validate() (Options, error) {
	if o.Name == "" {
		o.Name = "objectstore"
	}
	root := strings.Trim(o.RootDirectory, "/")
	if root != "" {
		if checkPath(root) != nil {
			return o, fmt.Errorf("%s: RootDirectory: %q is not a clean relative path", o.Name, o.RootDirectory)
		}
		root += "/"
	}
	o.RootDirectory = root
	switch {
	case o.MinPartSize <= 0 || o.MaxPartSize < o.MinPartSize:
		return o, fmt.Errorf("%s: part size limits [%d, %d] are not a range", o.Name, o.MinPartSize, o.MaxPartSize)
	case o.PartSize < o.MinPartSize || o.PartSize > o.MaxPartSize:
		return o, fmt.Errorf("%s: PartSize: %d is outside [%d, %d]", o.Name, o.PartSize, o.MinPartSize, o.MaxPartSize)
	case o.MaxParts <= 1:
		return o, fmt.Errorf("%s: MaxParts: %d is too small", o.Name, o.MaxParts)
	case o.MaxCopySize <= 0:
		return o, fmt.Errorf("%s: MaxCopySize: %d is not positive", o.Name, o.MaxCopySize)
	case o.Concurrency < 0:
		return o, fmt.Errorf("%s: Concurrency: %d is negative", o.Name, o.Concurrency)
	case o.ListPageSize < 0:
		return o, fmt.Errorf("%s: ListPageSize: %d is negative", o.Name, o.ListPageSize)
	case o.RedirectExpiry < 0:
		return o, fmt.Errorf("%s: RedirectExpiry: %v is negative", o.Name, o.RedirectExpiry)
	}
	return o, nil
}

// checkPath rejects paths that are empty, absolute, not clean, or that
// contain "." or ".." elements (the rules of storage/fs and storage/memory).
func checkPath(p string) error {
	if p == "" || p[0] == '/' || path.Clean(p) != p || p == "." || p == ".." ||
		strings.HasPrefix(p, "../") || strings.IndexByte(p, 0) >= 0 {
		return errBadPath
	}
	return nil
}

// CheckRoot reports whether root (with surrounding slashes trimmed) is
// usable as a RootDirectory, so adapters can validate their configuration
// before creating a client.
func CheckRoot(root string) error {
	if r := strings.Trim(root, "/"); r != "" && checkPath(r) != nil {
		return fmt.Errorf("%q is not a clean relative path", root)
	}
	return nil
}
