package server

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/berthreg/berth/storage"
	"github.com/berthreg/berth/storage/fs"
	"github.com/berthreg/berth/storage/memory"
	"github.com/berthreg/berth/storage/oss"
	"github.com/berthreg/berth/storage/s3"
)

// openStorage builds the driver c selects; fs keeps its blobs under
// dataDir unless c says where.
func openStorage(ctx context.Context, c StorageConfig, dataDir string) (storage.Driver, error) {
	switch c.Driver {
	case "memory":
		return memory.New(), nil
	case "s3":
		d, err := s3.New(ctx, c.S3)
		if err != nil {
			return nil, fmt.Errorf("storage.s3: %w", err)
		}
		return d, nil
	case "oss":
		d, err := oss.New(ctx, c.OSS)
		if err != nil {
			return nil, fmt.Errorf("storage.oss: %w", err)
		}
		return d, nil
	}
	root := c.FS.RootDirectory
	if root == "" {
		root = filepath.Join(dataDir, "storage")
	}
	var opts []fs.Option
	if c.FS.NoSync {
		opts = append(opts, fs.WithoutSync())
	}
	d, err := fs.New(root, opts...)
	if err != nil {
		return nil, fmt.Errorf("storage.fs.rootDirectory: %w", err)
	}
	return d, nil
}
